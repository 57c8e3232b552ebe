import Crypto
import NIOCore
import NIOHTTP1
import NIOPosix
import StorageKit
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// A new file in the staging directory that an upload body is written to and hashed in one pass.
///
/// Created with `O_CREAT|O_EXCL` and mode 0640 under a name the watcher ignores (`.upload-<random>.tmp`). Buffers
/// up to `flushBytes`, then writes and hashes them on the thread pool; the caller awaits each flush, which is what
/// paces reading from the socket. Used by one task at a time.
final class StagingFile {
    let path: String
    private(set) var size: Int64 = 0
    private var fd: CInt
    private var pending: [ByteBuffer] = []
    private var pendingBytes = 0
    private var hasher = SHA256()
    private let flushBytes: Int
    private let threadPool: NIOThreadPool

    private init(path: String, fd: CInt, flushBytes: Int, threadPool: NIOThreadPool) {
        self.path = path
        self.fd = fd
        self.flushBytes = flushBytes
        self.threadPool = threadPool
    }

    /// Creates the staging directory if missing (0750) and a new, exclusive file in it.
    static func create(in directory: String, threadPool: NIOThreadPool, flushBytes: Int) throws -> StagingFile {
        try makeDirectories(directory)
        for _ in 0..<8 {
            var random = SystemRandomNumberGenerator()
            let token = String(random.next(), radix: 16) + String(random.next(), radix: 16)
            let path = (directory.hasSuffix("/") ? directory : directory + "/") + ".upload-\(token).tmp"
            switch Syscall.valueOrErrno(
                retryOnInterrupt: false,
                { open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o640) }
            ) {
            case .success(let fd):
                return StagingFile(path: path, fd: fd, flushBytes: flushBytes, threadPool: threadPool)
            case .failure(.fileExists), .failure(.interrupted):
                continue
            case .failure(let error):
                throw ControlAPIError(
                    status: .internalServerError,
                    error: "staging_failed",
                    detail: "cannot create a staging file in \(directory): \(error)"
                )
            }
        }
        throw ControlAPIError(
            status: .internalServerError,
            error: "staging_failed",
            detail: "cannot find a free staging file name in \(directory)"
        )
    }

    /// Queues `buffer`; writes and hashes the queue once it holds `flushBytes`.
    func append(_ buffer: ByteBuffer) async throws {
        size += Int64(buffer.readableBytes)
        pending.append(buffer)
        pendingBytes += buffer.readableBytes
        if pendingBytes >= flushBytes { try await flush() }
    }

    /// Writes what is queued, fsyncs and closes the file; returns its size and SHA-256 (hex).
    func finish() async throws -> (Int64, String) {
        try await flush()
        let fd = self.fd
        let path = self.path
        try await threadPool.runIfActive {
            if case .failure(let error) = Syscall.nothingOrErrno({ fsync(fd) }) {
                throw ControlAPIError(
                    status: .internalServerError,
                    error: "staging_failed",
                    detail: "fsync \(path): \(error)"
                )
            }
        }
        close(fd)
        self.fd = -1
        let digest = hasher.finalize().map { b in
            let s = String(b, radix: 16)
            return b < 16 ? "0" + s : s
        }.joined()
        return (size, digest)
    }

    /// Closes and unlinks the file (after a failure).
    func abort() {
        if fd >= 0 {
            close(fd)
            fd = -1
        }
        Self.unlinkIfPresent(path)
    }

    private func flush() async throws {
        guard !pending.isEmpty else { return }
        let buffers = pending
        pending = []
        pendingBytes = 0
        let fd = self.fd
        let path = self.path
        let start = hasher
        hasher = try await threadPool.runIfActive {
            var hasher = start
            for buffer in buffers {
                try buffer.withUnsafeReadableBytes { bytes in
                    var offset = 0
                    while offset < bytes.count {
                        switch Syscall.valueOrErrno({ write(fd, bytes.baseAddress! + offset, bytes.count - offset) }) {
                        case .success(let written):
                            offset += written
                        case .failure(let error):
                            let full = error == .noSpace || error == .diskQuotaExceeded
                            throw ControlAPIError(
                                status: full ? .insufficientStorage : .internalServerError,
                                error: "staging_failed",
                                detail: "write \(path): \(error)"
                            )
                        }
                    }
                    hasher.update(bufferPointer: bytes)
                }
            }
            return hasher
        }
    }

    /// Removes `path` if it still exists.
    static func unlinkIfPresent(_ path: String) {
        _ = unlink(path)
    }

    /// `mkdir -p` with mode 0750 for the components it creates.
    static func makeDirectories(_ path: String) throws {
        do {
            try FileOps.makeDirectories(path, mode: 0o750)
        } catch {
            throw ControlAPIError(status: .internalServerError, error: "staging_failed", detail: "\(error)")
        }
    }
}
