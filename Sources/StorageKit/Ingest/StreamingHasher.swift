import Crypto
import Foundation
import SystemPackage

/// SHA-256 over a file descriptor in one sequential pass with a reusable buffer (never the whole file in memory).
public final class StreamingHasher {
    private var buffer: UnsafeMutableRawBufferPointer

    /// Read size; 4 MiB keeps swift-crypto at OpenSSL speed while memory stays small.
    public init(bufferSize: Int = 4 << 20) {
        buffer = .allocate(byteCount: bufferSize, alignment: 4096)
    }

    deinit { buffer.deallocate() }

    /// Result of one pass.
    public struct Digest: Sendable, Equatable {
        /// 64 lower-case hex digits.
        public let hex: String
        /// Bytes read.
        public let bytes: Int64
    }

    /// Hashes `fd` from its current offset to end of file. When `copyTo` is given, every chunk is also written
    /// there (cross-filesystem moves: still one read).
    public func hash(fd: Int32, copyTo output: Int32? = nil) throws -> Digest {
        var hasher = SHA256()
        var total: Int64 = 0
        _ = posix_fadvise(fd, 0, 0, Int32(POSIX_FADV_SEQUENTIAL))
        while true {
            let n = try Syscall.valueOrErrno { read(fd, buffer.baseAddress, buffer.count) }.orThrow(
                "read",
                path: "fd \(fd)"
            )
            if n == 0 { break }
            let chunk = UnsafeRawBufferPointer(rebasing: buffer[0..<n])
            hasher.update(bufferPointer: chunk)
            if let output { try FileOps.writeAll(output, chunk) }
            total += Int64(n)
        }
        return Digest(hex: hasher.finalize().hexString, bytes: total)
    }
}
