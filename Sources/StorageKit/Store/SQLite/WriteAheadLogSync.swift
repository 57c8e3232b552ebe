import Synchronization
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// Makes an SQLite catalog's commits durable *outside* its single writer: a durable write commits as the
/// others do (`synchronous = NORMAL`: the frames are written to the WAL, not flushed), and then the WAL is
/// flushed with `fdatasync(2)` before the write returns. The flush covers that commit and every one before it
/// (a checkpoint in between flushes the WAL itself first), so the guarantee is `synchronous = FULL`'s, but the
/// writer takes the next transaction while the disk works, and the flushes of concurrent ingests overlap
/// instead of queueing one behind another inside the writer; concurrent flushes are coalesced (``GroupFlush``).
final class WriteAheadLogSync: Sendable {
    private let path: String
    /// The WAL held open; reopened when SQLite made a new one (the old one has no link left).
    private let descriptor = Mutex<Int32>(-1)
    private let flushes = Atomic<Int>(0)
    private let group = GroupFlush()

    /// Once a flush failed, every later one fails too: the kernel reports a lost write once, so a later flush
    /// that succeeds would not mean the commits before it are on disk. The catalog needs a restart then.
    private let broken = Mutex<String?>(nil)

    /// `databasePath` is resolved as SQLite resolves it (the WAL lies beside the file a symlink points to).
    init(databasePath: String) {
        let resolved = databasePath.withCString { realpath($0, nil) }
        defer { free(resolved) }
        path = (resolved.map { String(cString: $0) } ?? databasePath) + "-wal"
    }

    deinit {
        descriptor.withLock { if $0 >= 0 { close($0) } }
    }

    /// How many `fdatasync` calls succeeded (tests).
    var flushCount: Int { flushes.load(ordering: .relaxed) }

    /// Returns once what was committed before this call is on disk.
    func flush() throws {
        try group.flush { try flushNow() }
    }

    private func flushNow() throws {
        if let reason = broken.withLock({ $0 }) {
            throw StorageError(
                code: .io,
                message: "the catalog's WAL \(path) lost a write earlier (\(reason)); restart"
            )
        }
        do { try flushDescriptor() } catch {
            broken.withLock { $0 = $0 ?? "\(error)" }
            throw error
        }
        flushes.add(1, ordering: .relaxed)
    }

    private func flushDescriptor() throws {
        try descriptor.withLock { fd in
            var status = stat()
            if fd >= 0, fstat(fd, &status) != 0 || status.st_nlink == 0 {
                close(fd)
                fd = -1
            }
            if fd < 0 {
                fd = try Syscall.valueOrErrno { open(path, O_RDONLY | O_CLOEXEC) }.orThrow("open", path: path)
                // A WAL made since the last look: its name must be on disk too.
                FileOps.syncDirectory(FileOps.parent(path))
            }
            let held = fd
            try Syscall.nothingOrErrno { fdatasync(held) }.orThrow("fdatasync", path: path)
        }
    }
}
