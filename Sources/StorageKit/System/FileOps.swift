import CIngestLinux
import Foundation
import SystemPackage

/// What `lstat`/`fstat` say about a file, reduced to what ingest decisions need.
public struct FileStatus: Sendable, Equatable {
    public enum Kind: Sendable, Equatable { case regular, directory, symlink, fifo, socket, device, other }
    public let kind: Kind
    public let device: UInt64
    public let inode: UInt64
    public let linkCount: UInt64
    public let size: Int64
    /// Modification and status-change times in nanoseconds since the epoch.
    public let mtimeNanos: Int64
    public let ctimeNanos: Int64

    init(_ s: stat) {
        switch s.st_mode & S_IFMT {
        case S_IFREG: kind = .regular
        case S_IFDIR: kind = .directory
        case S_IFLNK: kind = .symlink
        case S_IFIFO: kind = .fifo
        case S_IFSOCK: kind = .socket
        case S_IFCHR, S_IFBLK: kind = .device
        default: kind = .other
        }
        device = UInt64(s.st_dev)
        inode = UInt64(s.st_ino)
        linkCount = UInt64(s.st_nlink)
        size = Int64(s.st_size)
        mtimeNanos = Int64(s.st_mtim.tv_sec) * 1_000_000_000 + Int64(s.st_mtim.tv_nsec)
        ctimeNanos = Int64(s.st_ctim.tv_sec) * 1_000_000_000 + Int64(s.st_ctim.tv_nsec)
    }

    /// Same file, same bytes as far as the inode can tell (size, mtime, ctime, inode).
    public func isUnchanged(comparedTo other: FileStatus) -> Bool {
        device == other.device && inode == other.inode && size == other.size && mtimeNanos == other.mtimeNanos
            && ctimeNanos == other.ctimeNanos
    }
}

/// Thin wrappers over the syscalls ingest uses, made through ``Syscall`` (`EINTR` retried, failures as
/// swift-system's `Errno`). Each throws a ``StorageError`` naming the path.
public enum FileOps {
    /// `lstat(2)`: never follows a symlink. Returns `nil` when the path does not exist.
    public static func lstat(_ path: some SyscallPath) throws -> FileStatus? {
        var s = stat()
        switch Syscall.nothingOrErrno({ path.withCString { Glibc.lstat($0, &s) } }) {
        case .success: return FileStatus(s)
        case .failure(.noSuchFileOrDirectory), .failure(.notDirectory): return nil
        case .failure(let error): throw StorageError.syscall("lstat", path: path.description, error)
        }
    }

    /// `fstat(2)` on an open descriptor.
    public static func fstat(_ fd: Int32, path: some SyscallPath) throws -> FileStatus {
        var s = stat()
        try Syscall.nothingOrErrno { Glibc.fstat(fd, &s) }.orThrow("fstat", path: path.description)
        return FileStatus(s)
    }

    /// Opens a file for reading without following a symlink and without blocking on a FIFO.
    public static func openForReading(_ path: some SyscallPath) throws -> Int32 {
        try Syscall.valueOrErrno { path.withCString { open($0, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC) } }
            .orThrow("open", path: path.description)
    }

    /// Creates a new file; fails if one exists (`O_EXCL`).
    public static func createExclusive(_ path: some SyscallPath, mode: mode_t = 0o640) throws -> Int32 {
        try Syscall.valueOrErrno {
            path.withCString { open($0, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode) }
        }
        .orThrow("create", path: path.description)
    }

    /// Writes every byte of `data` to `fd`.
    public static func writeAll(_ fd: Int32, _ data: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < data.count {
            offset += try Syscall.valueOrErrno { write(fd, data.baseAddress! + offset, data.count - offset) }
                .orThrow("write", path: "fd \(fd)")
        }
    }

    /// Outcome of ``renameNoReplace(_:_:)``.
    public enum RenameResult: Sendable, Equatable { case renamed, targetExists, sourceMissing, crossDevice }

    /// Moves `from` to `to` and never overwrites: `renameat2(RENAME_NOREPLACE)`, or `link`+`unlink` where the
    /// filesystem does not support the flag (regular files only).
    public static func renameNoReplace(_ from: some SyscallPath, _ to: some SyscallPath) throws -> RenameResult {
        // A rename or link is not made again after EINTR: the first may have happened, and a second would then
        // answer "exists" or "missing" for a move that was done.
        let renamed = Syscall.nothingOrErrno(retryOnInterrupt: false) {
            from.withCString { f in
                to.withCString { t in CIngestLinux_renameat2(AT_FDCWD, f, AT_FDCWD, t, CIngestLinux_RENAME_NOREPLACE) }
            }
        }
        switch renamed {
        case .success: return .renamed
        case .failure(.fileExists): return .targetExists
        case .failure(.noSuchFileOrDirectory):
            // Also the answer when the target's folder is missing: only a missing source means "gone".
            if (try? lstat(from)) ?? nil != nil {
                throw StorageError.syscall("rename", path: "\(from) -> \(to)", .noSuchFileOrDirectory)
            }
            return .sourceMissing
        case .failure(.improperLink): return .crossDevice
        case .failure(.invalidArgument), .failure(.noFunction):
            // No RENAME_NOREPLACE here (some FUSE/NFS): link(2) refuses an existing target just the same.
            switch Syscall.nothingOrErrno(
                retryOnInterrupt: false,
                { from.withCString { f in to.withCString { t in link(f, t) } } }
            ) {
            case .success:
                _ = from.withCString { unlink($0) }
                return .renamed
            case .failure(.fileExists): return .targetExists
            case .failure(let error): throw StorageError.syscall("link", path: "\(from) -> \(to)", error)
            }
        case .failure(let error):
            throw StorageError.syscall("rename", path: "\(from) -> \(to)", error)
        }
    }

    /// Moves `source` to `target` on another filesystem without reading through links or opening FIFOs: a
    /// regular file is copied (`O_NOFOLLOW`), synced, then unlinked; a symlink or FIFO is recreated, then
    /// unlinked. Sockets and devices cannot be carried across and throw. Returns `false` when `source` vanished.
    /// Never replaces an existing `target`.
    ///
    /// - Parameter beforeRemovingSource: a seam for tests (the source removed by someone else meanwhile).
    public static func moveAcrossFilesystems(
        _ source: some SyscallPath,
        to target: RawPath,
        beforeRemovingSource: () -> Void = {}
    ) throws -> Bool {
        guard let st = try lstat(source) else { return false }
        switch st.kind {
        case .regular:
            // A hard-linked file is never opened (it is read through another name too): it stays.
            guard st.linkCount == 1 else {
                throw StorageError(
                    code: .io,
                    message:
                        "cannot move \(source) to \(target): a file with \(st.linkCount) hard links is not read to copy it across filesystems"
                )
            }
            let input = try openForReading(source)
            defer { close(input) }
            let output = try createExclusive(target)
            do {
                _ = try StreamingHasher(bufferSize: 1 << 20).hash(fd: input, copyTo: output)
                try Syscall.nothingOrErrno { fsync(output) }.orThrow("fsync", path: target.description)
                close(output)
            } catch {
                close(output)
                _ = target.withCString { unlink($0) }
                throw error
            }
        case .symlink:
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let n = try Syscall.valueOrErrno { source.withCString { readlink($0, &buffer, buffer.count - 1) } }
                .orThrow("readlink", path: source.description)
            let destination = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            try Syscall.nothingOrErrno(retryOnInterrupt: false) { target.withCString { symlink(destination, $0) } }
                .orThrow("symlink", path: target.description)
        case .fifo:
            try Syscall.nothingOrErrno(retryOnInterrupt: false) { target.withCString { mkfifo($0, 0o640) } }
                .orThrow("mkfifo", path: target.description)
        default:
            throw StorageError(
                code: .io,
                message: "cannot move \(source) to \(target): a \(st.kind) cannot cross filesystems"
            )
        }
        // The new entry must survive a power cut before the original name goes.
        syncDirectory(target.parent)
        beforeRemovingSource()
        switch Syscall.nothingOrErrno(retryOnInterrupt: false, { source.withCString { unlink($0) } }) {
        case .success, .failure(.noSuchFileOrDirectory):
            // Gone already (removed by someone else meanwhile): the copy is the only one left, and stays.
            break
        case .failure(let error):
            // The original is still there: the copy goes, and nothing has moved.
            _ = target.withCString { unlink($0) }
            throw StorageError.syscall("unlink", path: source.description, error)
        }
        return true
    }

    /// `fsync(2)` of a directory so that a rename into it survives a power cut.
    public static func syncDirectory(_ path: some SyscallPath) {
        guard
            case .success(let fd) = Syscall.valueOrErrno({
                path.withCString { open($0, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
            })
        else { return }
        _ = Syscall.nothingOrErrno { fsync(fd) }
        close(fd)
    }

    /// ``makeDirectories(_:mode:)-(RawPath,_)`` for a path given as text.
    public static func makeDirectories(_ path: String, mode: mode_t = 0o755) throws {
        try makeDirectories(RawPath(path), mode: mode)
    }

    /// Writes `data` to `path` atomically: a temporary file beside it, `fsync`, then `rename` over nothing
    /// (fails with `targetExists` instead of replacing when `replace` is false).
    @discardableResult
    /// `durable: false` skips the `fsync` for files that can be made again (thumbnails): a power cut may then
    /// leave an empty file where a crash of the process never can. `temporaryDirectory` (on the same
    /// filesystem, e.g. `.staging`) holds the temporary file instead of the target's folder, so that it can
    /// never share a folder with a user's file.
    public static func writeAtomically(
        _ data: [UInt8],
        to path: some SyscallPath,
        replace: Bool = false,
        durable: Bool = true,
        temporaryDirectory: String? = nil
    ) throws -> RenameResult {
        let target = RawPath(path)
        let folder = temporaryDirectory.map { RawPath($0) } ?? target.parent
        let tmp = folder.appending(Array(temporaryName(for: path.description).utf8))
        let fd: Int32
        do {
            fd = try createExclusive(tmp, mode: 0o644)
        } catch let error as StorageError {
            // Name the file the caller asked for, not the temporary one.
            throw StorageError.syscall("create", path: path.description, errno: error.errno ?? EIO)
        }
        do {
            try data.withUnsafeBytes { try writeAll(fd, $0) }
            if durable { try Syscall.nothingOrErrno { fsync(fd) }.orThrow("fsync", path: tmp.description) }
            close(fd)
        } catch {
            close(fd)
            _ = tmp.withCString { unlink($0) }
            throw error
        }
        if replace {
            let renamed = Syscall.nothingOrErrno(retryOnInterrupt: false) {
                tmp.withCString { from in target.withCString { rename(from, $0) } }
            }
            if case .failure(let error) = renamed {
                _ = tmp.withCString { unlink($0) }
                throw StorageError.syscall("rename", path: "\(tmp) -> \(path)", error)
            }
            return .renamed
        }
        let result = try renameNoReplace(tmp, target)
        if result != .renamed { _ = tmp.withCString { unlink($0) } }
        return result
    }

    /// Names of ``writeAtomically(_:to:replace:durable:temporaryDirectory:)``'s temporary files; one left by a
    /// crash is removed at start-up, only in `.staging` and `thumbnails/` (``removeTemporaryFiles(in:)``), where
    /// no user's file can be: dropped names starting with `.` are ignored and uploaded ones are sanitized.
    public static let temporaryPrefix = ".ingestd-tmp-"

    /// A fresh temporary name for a file that will become `path`: the prefix, this process and a random
    /// number, the `owner` (a `NODE_ID`, which never holds `~`) and `~` when given, then the final name, so that
    /// what a crash left says what it was to become and who wrote it. The final name is cut at its end (between
    /// characters) when the whole would pass NAME_MAX (255 bytes).
    public static func temporaryName(for path: String, owner: String? = nil) -> String {
        let head =
            temporaryPrefix + "\(getpid())-\(UInt32.random(in: 0...UInt32.max))-" + (owner.map { $0 + "~" } ?? "")
        let final = NumberedNames.prefix(
            of: Array(lastComponent(path).utf8),
            maxBytes: 255 - head.utf8.count,
            keepingCharacters: true
        )
        return head + String(decoding: final, as: UTF8.self)
    }

    /// The owner a ``temporaryName(for:owner:)`` names, if any.
    public static func temporaryOwner(_ name: String) -> String? {
        guard name.hasPrefix(temporaryPrefix) else { return nil }
        // <pid>-<random>-<owner>~<final>
        let rest = name.dropFirst(temporaryPrefix.count).split(separator: "-", maxSplits: 2)
        guard rest.count == 3, let tilde = rest[2].firstIndex(of: "~") else { return nil }
        return String(rest[2][..<tilde])
    }

    /// Removes temporary files a crash left in `folder`; returns how many.
    @discardableResult
    public static func removeTemporaryFiles(in folder: String) -> Int {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return 0 }
        var removed = 0
        for name in names where name.hasPrefix(temporaryPrefix) {
            if unlink(folder + "/" + name) == 0 { removed += 1 }
        }
        return removed
    }

    /// Bytes available to unprivileged users on the filesystem holding `path`.
    public static func availableBytes(_ path: String) -> Int64? {
        var out: UInt64 = 0
        guard CIngestLinux_availableBytes(path, &out) == 0 else { return nil }
        return Int64(clamping: out)
    }

    /// Raw bytes of a path's last component.
    public static func lastComponent(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }

    /// The directory part of a path.
    public static func parent(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}
