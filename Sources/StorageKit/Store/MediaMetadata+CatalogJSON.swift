import Foundation
import IngestConfig

/// The `assets.metadata` column's JSON, written and read by hand: the object is flat (numbers and
/// strings under known keys), and Foundation's coders took more than half the CPU time of an
/// insert and of reading a page of records. Anything the fast reader does not expect (escapes,
/// nested values, exponents in an integer field) falls back to `JSONDecoder`, so every valid
/// document still reads.
extension MediaMetadata {
    /// One member of the column's object: its key and the field that holds its value.
    enum CatalogField: Sendable {
        case text(String, any WritableKeyPath<MediaMetadata, String?> & Sendable)
        case integer(String, any WritableKeyPath<MediaMetadata, Int?> & Sendable)
        case number(String, any WritableKeyPath<MediaMetadata, Double?> & Sendable)
    }

    /// Every member the column's object may have, in the sorted order of their keys (the order they are written).
    static let catalogFields: [CatalogField] = [
        .text("audio_codec", \.audioCodec),
        .integer("bit_depth", \.bitDepth),
        .integer("bit_rate", \.bitRate),
        .integer("channels", \.channels),
        .text("color_transfer", \.colorTransfer),
        .text("creation_time", \.creationTime),
        .number("duration_seconds", \.durationSeconds),
        .text("format_name", \.formatName),
        .number("frame_rate", \.frameRate),
        .integer("height", \.height),
        .text("location", \.location),
        .text("make", \.make),
        .text("model", \.model),
        .text("pixel_format", \.pixelFormat),
        .integer("rotation", \.rotation),
        .integer("sample_rate", \.sampleRate),
        .text("video_codec", \.videoCodec),
        .integer("width", \.width),
    ]

    /// ``catalogFields`` by key, for the reader.
    static let catalogFieldsByKey: [String: CatalogField] = Dictionary(
        uniqueKeysWithValues: catalogFields.map { field in
            switch field {
            case .text(let key, _), .integer(let key, _), .number(let key, _): (key, field)
            }
        }
    )

    /// Compact JSON with keys in sorted order and `nil` fields left out.
    func catalogJSON() throws -> String {
        var out = "{"
        func key(_ name: String) {
            if out.utf8.count > 1 { out += "," }
            out += "\"" + name + "\":"
        }
        func number(_ name: String, _ value: Double?) throws {
            guard let value else { return }
            guard value.isFinite else {
                throw StorageError.invalidValue("metadata.\(name)", "\(value)", "not a finite number")
            }
            key(name)
            // Swift prints the shortest text that reads back as the same Double.
            out += value.description
        }
        func integer(_ name: String, _ value: Int?) {
            guard let value else { return }
            key(name)
            out += String(value)
        }
        func text(_ name: String, _ value: String?) {
            guard let value else { return }
            key(name)
            out += JSONText.quoted(value)
        }
        for field in Self.catalogFields {
            switch field {
            case .text(let name, let path): text(name, self[keyPath: path])
            case .integer(let name, let path): integer(name, self[keyPath: path])
            case .number(let name, let path): try number(name, self[keyPath: path])
            }
        }
        return out + "}"
    }

    /// Reads what `catalogJSON()` (or any JSON encoder) wrote.
    init(catalogJSON json: String, decoder: JSONDecoder) throws {
        if let fast = MediaMetadata.parseFlat(json) {
            self = fast
        } else {
            self = try decoder.decode(MediaMetadata.self, from: Data(json.utf8))
        }
    }

    /// A flat object of known keys with plain strings and numbers; `nil` for anything else.
    static func parseFlat(_ json: String) -> MediaMetadata? {
        var m = MediaMetadata()
        var bytes = Array(json.utf8)[...]
        func skipSpace() {
            while let b = bytes.first, b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 { bytes.removeFirst() }
        }
        func expect(_ b: UInt8) -> Bool {
            skipSpace()
            guard bytes.first == b else { return false }
            bytes.removeFirst()
            return true
        }
        func string() -> String? {
            guard expect(0x22) else { return nil }
            guard let end = bytes.firstIndex(where: { $0 == 0x22 || $0 == 0x5C }), bytes[end] == 0x22 else {
                return nil
            }
            let s = String(decoding: bytes[bytes.startIndex..<end], as: UTF8.self)
            bytes = bytes[(end + 1)...]
            return s
        }
        func numberText() -> String? {
            skipSpace()
            let end =
                bytes.firstIndex {
                    !(($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D || $0 == 0x2B || $0 == 0x2E || $0 == 0x65 || $0 == 0x45)
                } ?? bytes.endIndex
            guard end > bytes.startIndex else { return nil }
            let s = String(decoding: bytes[bytes.startIndex..<end], as: UTF8.self)
            bytes = bytes[end...]
            return s
        }
        guard expect(0x7B) else { return nil }
        if expect(0x7D) {
            skipSpace()
            return bytes.isEmpty ? m : nil
        }
        repeat {
            guard let key = string(), expect(0x3A), let field = catalogFieldsByKey[key] else { return nil }
            switch field {
            case .text(_, let path):
                guard let v = string() else { return nil }
                m[keyPath: path] = v
            case .integer(_, let path):
                guard let t = numberText(), let v = Int(t) else { return nil }
                m[keyPath: path] = v
            case .number(_, let path):
                guard let t = numberText(), let v = Double(t) else { return nil }
                m[keyPath: path] = v
            }
        } while expect(0x2C)
        guard expect(0x7D) else { return nil }
        skipSpace()
        return bytes.isEmpty ? m : nil
    }
}
