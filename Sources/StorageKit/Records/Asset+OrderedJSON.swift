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

extension Asset: OrderedJSONRepresentable {
    public func writeJSON(into out: inout [UInt8]) {
        var object = JSONObjectWriter()
        object.string("id", id)
        object.string("project_id", projectID)
        object.string("filename", filename)
        object.string("original_filename", originalFilename)
        object.string("relative_path", relativePath)
        object.string("checksum", checksum)
        object.integer("size_bytes", sizeBytes)
        object.string("mime_type", mimeType)
        object.string("status", status.rawValue)
        object.string("thumbnail_path", thumbnailPath)  // null until set
        object.raw("metadata", (metadata ?? MediaMetadata()).orderedJSON)
        if status == .failed { object.string("error", error ?? "unknown error") }
        object.string("created_at", ISO8601Millis.string(from: createdAt))
        object.string("updated_at", ISO8601Millis.string(from: updatedAt))
        object.finish(into: &out)
    }
}

extension MediaMetadata: OrderedJSONRepresentable {
    public func writeJSON(into out: inout [UInt8]) {
        var object = JSONObjectWriter()
        if let durationSeconds { object.number("duration_seconds", durationSeconds) }
        if let formatName { object.string("format_name", formatName) }
        if let bitRate { object.integer("bit_rate", Int64(bitRate)) }
        if let width { object.integer("width", Int64(width)) }
        if let height { object.integer("height", Int64(height)) }
        if let rotation { object.integer("rotation", Int64(rotation)) }
        if let videoCodec { object.string("video_codec", videoCodec) }
        if let frameRate { object.number("frame_rate", frameRate) }
        if let audioCodec { object.string("audio_codec", audioCodec) }
        if let sampleRate { object.integer("sample_rate", Int64(sampleRate)) }
        if let channels { object.integer("channels", Int64(channels)) }
        object.finish(into: &out)
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
        guard let value else { bytes.append(contentsOf: Array("null".utf8)); return }
        JSONText.appendString(value, to: &bytes)
    }

    mutating func integer(_ key: String, _ value: Int64) {
        member(key)
        bytes.append(contentsOf: Array(String(value).utf8))
    }

    /// A finite number as JSONEncoder writes it (whole numbers without a fraction); non-finite as null.
    mutating func number(_ key: String, _ value: Double) {
        member(key)
        if !value.isFinite {
            bytes.append(contentsOf: Array("null".utf8))
        } else if value == value.rounded(), abs(value) < 1e15 {
            bytes.append(contentsOf: Array(String(Int64(value)).utf8))
        } else {
            bytes.append(contentsOf: Array("\(value)".utf8))
        }
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
