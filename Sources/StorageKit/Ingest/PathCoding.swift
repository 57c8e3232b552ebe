/// Stores a raw path in a text column without losing bytes that are not UTF-8: valid UTF-8 as is,
/// anything else as `hex:<digits>` (a real path here is absolute, so it never starts with `hex:`).
enum PathCoding {
    static func encode(_ path: RawPath) -> String {
        if let s = String(validating: path.bytes, as: UTF8.self) { return s }
        return "hex:" + path.bytes.hexString
    }

    static func decode(_ text: String) -> RawPath {
        guard text.hasPrefix("hex:") else { return RawPath(text) }
        let digits = Array(text.utf8.dropFirst(4))
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        var i = 0
        while i + 1 < digits.count {
            guard let hi = nibble(digits[i]), let lo = nibble(digits[i + 1]) else { return RawPath(text) }
            bytes.append(hi << 4 | lo)
            i += 2
        }
        return RawPath(bytes)
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x61...0x66: return c - 0x61 + 10
        default: return nil
        }
    }
}
