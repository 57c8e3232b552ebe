import Crypto
import Foundation

/// The collision-free stored name `<stem>-<hash10><ext>` (SPEC "Storage layout").
public struct StoredName: Sendable, Equatable {
    /// Sanitized stem: only `[A-Za-z0-9._-]`, at most 100 characters, never starting with `.`.
    public let stem: String
    /// First 10 hex digits of SHA-1(`<project_id>:<original_filename>:<timestamp>`).
    public let hash10: String
    /// The original extension in lower case, with its dot (`.mp4`), or empty.
    public let ext: String
    /// The timestamp (Unix milliseconds) that went into `hash10`.
    public let timestamp: Int64

    /// Most characters a stem keeps.
    public static let maxStemLength = 100

    /// `<stem>-<hash10><ext>`.
    public var filename: String { stem + "-" + hash10 + ext }

    /// Names `originalFilename` (raw bytes of the name as the file system gave them) for `project` at `timestamp`.
    public init(project: ProjectID, originalFilename: [UInt8], timestamp: Int64) {
        let (stemBytes, extBytes) = StoredName.split(originalFilename)
        stem = StoredName.sanitizeStem(stemBytes)
        ext = extBytes.isEmpty ? "" : "." + String(decoding: extBytes, as: UTF8.self).lowercased()
        self.timestamp = timestamp
        var input = Array((project.rawValue + ":").utf8)
        input.append(contentsOf: originalFilename)
        input.append(contentsOf: Array(":\(timestamp)".utf8))
        hash10 = String(Insecure.SHA1.hash(data: input).hexString.prefix(10))
    }

    /// Convenience for names that are valid UTF-8.
    public init(project: ProjectID, originalFilename: String, timestamp: Int64) {
        self.init(project: project, originalFilename: Array(originalFilename.utf8), timestamp: timestamp)
    }

    /// The same name with the next timestamp: what the daemon picks when a stored name is taken.
    public func next(project: ProjectID, originalFilename: [UInt8]) -> StoredName {
        StoredName(project: project, originalFilename: originalFilename, timestamp: timestamp + 1)
    }

    /// Splits a file name into stem and extension bytes (without the dot). A leading dot does not start an
    /// extension (`.mp4` has none); neither does a trailing one.
    public static func split(_ name: [UInt8]) -> (stem: [UInt8], ext: [UInt8]) {
        guard let dot = name.lastIndex(of: 0x2E), dot > 0, dot < name.count - 1 else { return (name, []) }
        return (Array(name[..<dot]), Array(name[(dot + 1)...]))
    }

    /// The lower-case extension of `name` without its dot, or empty.
    public static func lowercasedExtension(_ name: [UInt8]) -> String {
        String(decoding: split(name).ext, as: UTF8.self).lowercased()
    }

    /// Replaces every Unicode scalar outside `[A-Za-z0-9._-]` (and each byte that is not valid UTF-8) by `_`,
    /// cuts to 100 characters and replaces leading dots so that the stem never starts with `.`.
    public static func sanitizeStem(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(min(bytes.count, maxStemLength))
        var i = 0
        while i < bytes.count && out.count < maxStemLength {
            let b = bytes[i]
            if b < 0x80 {
                out.append(isAllowedASCII(b) ? b : 0x5F)
                i += 1
                continue
            }
            // One replacement per scalar for valid UTF-8 sequences, one per byte otherwise.
            let length = utf8SequenceLength(bytes, at: i)
            out.append(0x5F)
            i += max(length, 1)
        }
        var index = 0
        while index < out.count && out[index] == 0x2E {
            out[index] = 0x5F
            index += 1
        }
        if out.isEmpty { out = Array("video".utf8) }
        return String(decoding: out, as: UTF8.self)
    }

    static func isAllowedASCII(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x2E || b == 0x5F
            || b == 0x2D
    }

    /// Length of the valid UTF-8 sequence starting at `i`, or 0 when the byte there does not start one.
    static func utf8SequenceLength(_ bytes: [UInt8], at i: Int) -> Int {
        let b = bytes[i]
        let (length, minScalar): (Int, UInt32)
        switch b {
        case 0xC2...0xDF: (length, minScalar) = (2, 0x80)
        case 0xE0...0xEF: (length, minScalar) = (3, 0x800)
        case 0xF0...0xF4: (length, minScalar) = (4, 0x10000)
        default: return 0
        }
        guard i + length <= bytes.count else { return 0 }
        var scalar = UInt32(b) & (0xFF >> (length + 1))
        for k in 1..<length {
            let c = bytes[i + k]
            guard c & 0xC0 == 0x80 else { return 0 }
            scalar = scalar << 6 | UInt32(c & 0x3F)
        }
        guard scalar >= minScalar, scalar <= 0x10FFFF, !(0xD800...0xDFFF).contains(scalar) else { return 0 }
        return length
    }
}

extension Sequence where Element == UInt8 {
    /// Lower-case hex digits.
    public var hexString: String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for b in self {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
