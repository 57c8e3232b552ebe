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
    /// The upload as its client named it, for error details.
    let upload: String
    private(set) var size: Int64 = 0
    private var fd: CInt
    private var pending: [ByteBuffer] = []
    private var pendingBytes = 0
    private var hasher = SHA256()
    private let flushBytes: Int
    private let threadPool: NIOThreadPool
    private let writeFault: Errno?

    private init(
        path: String,
        upload: String,
        fd: CInt,
        flushBytes: Int,
        threadPool: NIOThreadPool,
        writeFault: Errno?
    ) {
        self.path = path
        self.upload = upload
        self.fd = fd
        self.flushBytes = flushBytes
        self.threadPool = threadPool
        self.writeFault = writeFault
    }

    /// Creates the staging directory if missing (0750) and a new, exclusive file in it. `upload` names the upload
    /// as its client did (`"clip.mp4" to project p`) in error details, which never name a path.
    static func create(
        in directory: String,
        upload: String,
        threadPool: NIOThreadPool,
        flushBytes: Int,
        writeFault: Errno? = nil
    ) throws -> StagingFile {
        try makeDirectories(directory, upload: upload)
        for _ in 0..<8 {
            var random = SystemRandomNumberGenerator()
            let token = String(random.next(), radix: 16) + String(random.next(), radix: 16)
            let path = (directory.hasSuffix("/") ? directory : directory + "/") + ".upload-\(token).tmp"
            switch Syscall.valueOrErrno(
                retryOnInterrupt: false,
                { open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o640) }
            ) {
            case .success(let fd):
                return StagingFile(
                    path: path,
                    upload: upload,
                    fd: fd,
                    flushBytes: flushBytes,
                    threadPool: threadPool,
                    writeFault: writeFault
                )
            case .failure(.fileExists), .failure(.interrupted):
                continue
            case .failure(let error):
                throw failure(upload, error, cause: "cannot create a staging file in \(directory): \(error)")
            }
        }
        throw ControlAPIError(
            status: .internalServerError,
            error: "staging_failed",
            detail: "the upload \(upload) could not be stored: no free temporary name was found; nothing was stored",
            cause: "cannot find a free staging file name in \(directory)"
        )
    }

    /// The answer to a staging file that could not be made or written: 507 when the filesystem is full, else 500;
    /// the detail names the upload and the cause in words, `cause` (for the log) the path.
    static func failure(_ upload: String, _ error: Errno, cause: String) -> ControlAPIError {
        let full = error == .noSpace || error == .diskQuotaExceeded
        let why: String
        switch error {
        case .noSpace: why = "no space is left on the storage filesystem"
        case .diskQuotaExceeded: why = "the disk quota on the storage filesystem is used up"
        case .readOnlyFileSystem: why = "the storage cannot be written (its filesystem is read-only)"
        default: why = "the storage cannot be written (\(error.description))"
        }
        return ControlAPIError(
            status: full ? .insufficientStorage : .internalServerError,
            error: "staging_failed",
            detail: "the upload \(upload) could not be stored: \(why); nothing was stored",
            cause: cause
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
        let upload = self.upload
        try await threadPool.runIfActive {
            if case .failure(let error) = Syscall.nothingOrErrno({ fsync(fd) }) {
                throw Self.failure(upload, error, cause: "fsync \(path): \(error)")
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
        let upload = self.upload
        let start = hasher
        let fault = writeFault
        hasher = try await threadPool.runIfActive {
            var hasher = start
            for buffer in buffers {
                try buffer.withUnsafeReadableBytes { bytes in
                    var offset = 0
                    while offset < bytes.count {
                        let written: Result<Int, Errno> =
                            fault.map { .failure($0) }
                            ?? Syscall.valueOrErrno({ write(fd, bytes.baseAddress! + offset, bytes.count - offset) })
                        switch written {
                        case .success(let count):
                            offset += count
                        case .failure(let error):
                            throw Self.failure(upload, error, cause: "write \(path): \(error)")
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
    static func makeDirectories(_ path: String, upload: String) throws {
        do {
            try FileOps.makeDirectories(path, mode: 0o750)
        } catch {
            let errno = (error as? StorageError)?.errno.map(Errno.init(rawValue:)) ?? .ioError
            throw failure(upload, errno, cause: "\(error)")
        }
    }
}
