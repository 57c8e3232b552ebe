import Foundation

extension UUID {
    /// A random (version 4, RFC 9562) UUID from the system's generator (`getrandom(2)`, no file opened).
    /// Foundation's `UUID()` opens and reads `/dev/urandom` on every call on Linux: three syscalls per file in a
    /// burst of ingests.
    public static func systemRandom() -> UUID {
        var generator = SystemRandomNumberGenerator()
        var value: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &value) { bytes in
            bytes.storeBytes(of: generator.next() as UInt64, toByteOffset: 0, as: UInt64.self)
            bytes.storeBytes(of: generator.next() as UInt64, toByteOffset: 8, as: UInt64.self)
            bytes[6] = (bytes[6] & 0x0F) | 0x40  // version 4
            bytes[8] = (bytes[8] & 0x3F) | 0x80  // the RFC's variant
        }
        return UUID(uuid: value)
    }
}
