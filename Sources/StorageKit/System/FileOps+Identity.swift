import Foundation
import SystemPackage

/// Moves and removals that must not trust a name to still mean the same file.
extension FileOps {
    /// Creates `path` (raw bytes, which need not be UTF-8) and its missing parents (`mode` before the umask),
    /// like `mkdir -p`, unless it is already a directory: one `stat` in the common case (the folder exists for
    /// every file of a project after its first). Errors name the component that failed.
    public static func makeDirectories(_ path: RawPath, mode: mode_t = 0o755) throws {
        var info = stat()
        if path.withCString({ stat($0, &info) }) == 0, info.st_mode & S_IFMT == S_IFDIR { return }
        try Directories.create(path, mode: mode)
    }

    /// Renames `from` to `preferred`, or to `<stem>-<n><ext>` beside it when that name is taken; never replaces
    /// a file. Returns the path used, or `nil` when `from` is gone. Throws across filesystems.
    @discardableResult
    public static func renameBeside(_ from: some SyscallPath, to preferred: RawPath) throws -> RawPath? {
        let folder = preferred.parent
        for name in NumberedNames(preferred.lastComponent) {
            let candidate = folder.appending(name)
            switch try renameNoReplace(from, candidate) {
            case .renamed: return candidate
            case .sourceMissing: return nil
            case .targetExists: continue
            case .crossDevice:
                throw StorageError(
                    code: .io,
                    message: "cannot move \(from) to \(folder): different filesystems",
                    errno: Errno.improperLink.rawValue
                )
            }
        }
        throw StorageError(code: .conflict, message: "no free name for \(preferred) in \(folder)")
    }

    /// What ``removeIfSame(_:identity:)`` did.
    public enum SameFileRemoval: Sendable, Equatable {
        /// The name held the file and it is gone.
        case removed
        /// Nothing had the name.
        case missing
        /// The name held another file (renamed onto it meanwhile); it is still there (`at`, normally the
        /// same path).
        case kept(at: RawPath)
    }

    /// Removes the file at `path` only if it is still the one `identity` describes (same device and inode, unchanged size, mtime and ctime).
    ///
    /// A name cannot be checked and unlinked in one step, so the entry is first renamed aside (atomically,
    /// within its folder) to a name the watcher ignores; what was moved is then checked: the same file is
    /// unlinked, any other file (a camera's `GOPR0001.MP4` dropped again) goes back under its name, or beside
    /// it when that name was taken meanwhile. Nothing but the identified file is ever unlinked.
    ///
    /// - Parameter asideName: the hidden name (in `path`'s folder) the entry is checked under; the caller
    ///   derives it from its journal entry, so that recovery after a crash in between finds the file again.
    public static func removeIfSame(
        _ path: RawPath,
        identity: FileStatus,
        asideName: [UInt8]
    ) throws -> SameFileRemoval {
        // Same inode is not enough: `cp` over the name or `rsync --inplace` rewrites the same inode. A file
        // whose size or times moved is another file's content and stays. (The rename below sets the ctime,
        // so it is compared before; size and mtime are compared again after.)
        guard let current = try lstat(path) else { return .missing }
        guard current.isUnchanged(comparedTo: identity) else { return .kept(at: path) }
        let aside = path.parent.appending(asideName)
        switch try renameNoReplace(path, aside) {
        case .sourceMissing: return .missing
        case .targetExists, .crossDevice:
            throw StorageError(code: .io, message: "cannot set \(path) aside to check it before removing it")
        case .renamed: break
        }
        if let moved = try lstat(aside), moved.device == identity.device, moved.inode == identity.inode,
            moved.size == identity.size, moved.mtimeNanos == identity.mtimeNanos
        {
            if case .failure(let error) = Syscall.nothingOrErrno(
                retryOnInterrupt: false,
                { aside.withCString { unlink($0) } }
            ) {
                _ = try? renameBeside(aside, to: path)
                throw StorageError.syscall("unlink", path: path.description, error)
            }
            return .removed
        }
        guard let back = try renameBeside(aside, to: path) else { return .missing }
        return .kept(at: back)
    }
}
