import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// An exclusive `flock(2)` on a file in `STORAGE_PATH/.locks/`, held for as long as this value lives. The kernel
/// lets go of it when the process ends however it ends (SIGKILL included), so a restart after a crash is never
/// refused. With SQLite one lock covers the whole storage (one daemon); with PostgreSQL each `NODE_ID` has its
/// own, and a node whose lock is free is not running: another node may take over the work it left.
///
/// The holder writes who it is into the file, so that a refused start can say which process holds it.
public final class StorageLock: Sendable {
    /// What a lock keeps to one process.
    public enum Scope: Sendable, Equatable {
        /// The whole `STORAGE_PATH` (an SQLite catalog: one daemon).
        case storage
        /// One `NODE_ID` among the nodes sharing `STORAGE_PATH` (a PostgreSQL catalog).
        case node(String)
    }

    /// The lock file.
    public let path: String
    private let fd: Int32
    /// Why no lock is held, when the filesystem has no `flock(2)` (some network and FUSE filesystems): the
    /// daemon then runs without the guard rather than not at all, and says so.
    public let unsupported: String?

    private init(path: String, fd: Int32, unsupported: String? = nil) {
        self.path = path
        self.fd = fd
        self.unsupported = unsupported
    }

    deinit { close(fd) }

    /// The lock file of `scope` in `layout`.
    public static func path(of scope: Scope, in layout: StorageLayout) -> String {
        switch scope {
        case .storage: return layout.locksPath + "/storage.lock"
        case .node(let id): return layout.locksPath + "/node-" + StorageLayout.nodeComponent(id) + ".lock"
        }
    }

    /// The ids of the nodes that have held a lock in `layout` (each a candidate for a take-over).
    public static func nodes(in layout: StorageLayout) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: layout.locksPath)) ?? []
        return names.compactMap { name in
            guard name.hasPrefix("node-"), name.hasSuffix(".lock"), name.count > 10 else { return nil }
            return String(name.dropFirst(5).dropLast(5))
        }.sorted()
    }

    /// Takes the lock of `scope` for this process, noting `holder` (who it is) in the file.
    ///
    /// A lock held by a node taking over this node's work (``takeOver(node:in:note:)``) is waited for, up to
    /// `takeOverWait`; any other holder refuses at once. On a filesystem without file locks the value holds
    /// none and says why (``unsupported``). `flock` is the system call (a test's seam).
    ///
    /// - Throws: `StorageError` `.conflict` naming what is in use and the holder's own note, `.io` when the lock
    ///   file cannot be made.
    public static func acquire(
        _ scope: Scope,
        in layout: StorageLayout,
        holder: String,
        takeOverWait: Duration = .seconds(60),
        flock: (Int32, Int32) -> Int32 = systemFlock
    ) throws -> StorageLock {
        try FileOps.makeDirectories(layout.locksPath)
        let path = path(of: scope, in: layout)
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o644)
        guard fd >= 0 else {
            throw StorageError(
                code: .io,
                message: "cannot open the lock file \(path): \(String(cString: strerror(errno)))"
            )
        }
        let deadline = ContinuousClock.now + takeOverWait
        var looks = 0
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let error = errno
            if error == EINTR { continue }
            if error == ENOLCK || error == EOPNOTSUPP || error == ENOSYS {
                return StorageLock(path: path, fd: fd, unsupported: String(cString: strerror(error)))
            }
            guard error == EWOULDBLOCK else {
                close(fd)
                throw StorageError(code: .io, message: "cannot lock \(path): \(String(cString: strerror(error)))")
            }
            looks += 1
            let note = Self.note(fd)
            // The holder writes its note just after taking the lock: an empty one is looked at again.
            let takingOver = note.hasPrefix(Self.takeOverMark)
            guard (takingOver && ContinuousClock.now < deadline) || (note.isEmpty && looks < 20) else {
                close(fd)
                let what =
                    switch scope {
                    case .storage: "STORAGE_PATH=\(layout.root) is in use by another ingestd"
                    case .node(let id): "NODE_ID=\(id) is in use by another ingestd on STORAGE_PATH=\(layout.root)"
                    }
                throw StorageError(
                    code: .conflict,
                    message: what + (note.isEmpty ? "" : " (\(note))") + "; lock file \(path)"
                )
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
        let lock = StorageLock(path: path, fd: fd)
        lock.write(note: holder)
        return lock
    }

    /// Takes the lock of node `node` when no process holds it (the node is not running), noting `note`; nil while
    /// that node runs, or when it never held a lock here (a node of an older version, which is never taken over).
    public static func takeOver(node: String, in layout: StorageLayout, note: String) -> StorageLock? {
        let path = path(of: .node(node), in: layout)
        let fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { return nil }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            return nil
        }
        let lock = StorageLock(path: path, fd: fd)
        lock.write(note: Self.takeOverMark + note)
        return lock
    }

    /// The beginning of the note of a lock held for a take-over.
    static let takeOverMark = "being taken over by "

    /// The note of the current holder (one line).
    public var note: String { Self.note(fd) }

    private func write(note: String) {
        let bytes = Array((note + "\n").utf8)
        _ = ftruncate(fd, 0)
        _ = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
    }

    private static func note(_ fd: Int32) -> String {
        var buffer = [UInt8](repeating: 0, count: 512)
        let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return "" }
        return String(decoding: buffer[..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// `flock(2)`, under a name a parameter called `flock` does not hide (the default of `StorageLock.acquire`).
@usableFromInline func systemFlock(_ fd: Int32, _ operation: Int32) -> Int32 { flock(fd, operation) }
