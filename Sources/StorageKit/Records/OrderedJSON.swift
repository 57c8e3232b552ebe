/// JSON written in the SPEC's key order (Foundation's `JSONEncoder` on Linux does not keep declaration
/// order), so that `curl` output reads like the SPEC's example record. The values and keys are the same as
/// the `Codable` encoding's.
public protocol OrderedJSONRepresentable {
    /// Appends this value's JSON to `out`.
    func writeJSON(into out: inout [UInt8])
}

extension OrderedJSONRepresentable {
    /// This value's JSON.
    public var orderedJSON: [UInt8] {
        var out: [UInt8] = []
        writeJSON(into: &out)
        return out
    }
}

extension Array: OrderedJSONRepresentable where Element: OrderedJSONRepresentable {
    public func writeJSON(into out: inout [UInt8]) {
        out.append(UInt8(ascii: "["))
        for (i, element) in enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            element.writeJSON(into: &out)
        }
        out.append(UInt8(ascii: "]"))
    }
}

/// Builds one JSON object's members in the order they are given.
struct JSONObjectWriter {
    private var bytes: [UInt8] = [UInt8(ascii: "{")]
    private var first = true

    mutating func raw(_ key: String, _ json: [UInt8]) {
        member(key)
        bytes.append(contentsOf: json)
    }

    mutating func string(_ key: String, _ value: String?) {
        member(key)
        guard let value else {
            bytes.append(contentsOf: Array("null".utf8))
            return
        }
        JSONText.appendString(value, to: &bytes)
    }

    mutating func integer(_ key: String, _ value: Int64) {
        member(key)
        bytes.append(contentsOf: Array(String(value).utf8))
    }

    /// A finite number always with a fraction or an exponent (`30.0`, as the SPEC's record shows, so that a
    /// reader sees a float whatever the value); non-finite as null.
    mutating func number(_ key: String, _ value: Double) {
        member(key)
        bytes.append(contentsOf: Array((value.isFinite ? "\(value)" : "null").utf8))
    }

    /// Closes the object and appends it to `out`.
    func finish(into out: inout [UInt8]) {
        out.append(contentsOf: bytes)
        out.append(UInt8(ascii: "}"))
    }

    private mutating func member(_ key: String) {
        if !first { bytes.append(UInt8(ascii: ",")) }
        first = false
        JSONText.appendString(key, to: &bytes)
        bytes.append(UInt8(ascii: ":"))
    }
}

/// JSON string escaping (slashes are left as they are, as the API's encoder does).
enum JSONText {
    static func appendString(_ s: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: [0x5C, 0x22])
            case UInt8(ascii: "\\"): out.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out.append(contentsOf: Array("\\u00".utf8))
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0x0F)])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
