#if canImport(Glibc)
import Glibc
#endif

/// A file-system path as the kernel sees it: bytes, which need not be UTF-8. Names in the drop are
/// whatever clients wrote, so paths into the drop are carried as bytes and only shown as text.
public struct RawPath: Hashable, Sendable, CustomStringConvertible {
    /// The path's bytes, without a terminating NUL.
    public var bytes: [UInt8]

    public init(_ bytes: [UInt8]) { self.bytes = bytes }
    public init(_ string: String) { self.bytes = Array(string.utf8) }

    /// `self + "/" + name`.
    public func appending(_ name: [UInt8]) -> RawPath {
        var b = bytes
        if b.last != 0x2F { b.append(0x2F) }
        b.append(contentsOf: name)
        return RawPath(b)
    }

    /// The last component's bytes.
    public var lastComponent: [UInt8] {
        guard let slash = bytes.lastIndex(of: 0x2F) else { return bytes }
        return Array(bytes[(slash + 1)...])
    }

    /// Everything before the last `/`.
    public var parent: RawPath {
        guard let slash = bytes.lastIndex(of: 0x2F) else { return RawPath(".") }
        return slash == 0 ? RawPath("/") : RawPath(Array(bytes[..<slash]))
    }

    /// Lossy text for logs and JSON (invalid UTF-8 shows as U+FFFD).
    public var description: String { String(decoding: bytes, as: UTF8.self) }

    /// Calls `body` with a NUL-terminated C string of the path.
    public func withCString<R>(_ body: (UnsafePointer<CChar>) throws -> R) rethrows -> R {
        var terminated = bytes
        terminated.append(0)
        return try terminated.withUnsafeBufferPointer { buffer in
            try buffer.withMemoryRebound(to: CChar.self) { try body($0.baseAddress!) }
        }
    }
}

/// Something that can be handed to a syscall as a path: `String` or ``RawPath``.
public protocol SyscallPath: CustomStringConvertible, Sendable {
    func withCString<R>(_ body: (UnsafePointer<CChar>) throws -> R) rethrows -> R
}

extension String: SyscallPath {}
extension RawPath: SyscallPath {}

extension RawPath {
    /// The bytes `path` names the file by, as the kernel gets them (not repaired into UTF-8).
    public init(_ path: some SyscallPath) {
        self.init(path.withCString { Array(UnsafeRawBufferPointer(start: $0, count: strlen($0))) })
    }
}
