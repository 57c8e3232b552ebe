import IngestConfig

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
