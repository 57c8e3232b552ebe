import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// Removes a directory entry and, for a folder, everything below it, through directory file
/// descriptors only (`openat(O_NOFOLLOW|O_DIRECTORY)`, `unlinkat`). A symlink anywhere in the
/// tree is unlinked as a link: its target, wherever it is, is never opened or touched.
enum TreeRemover {
    /// What was removed: regular files and the sum of their sizes, as statistics count them. Symlinks, FIFOs,
    /// sockets and devices are removed too, and not counted.
    struct Tally: Sendable, Equatable {
        var files = 0
        var bytes: Int64 = 0
    }

    /// Removes `name` inside the directory open on `parent`. `path` is that entry's full path, for
    /// error messages only. An entry that does not exist is not an error.
    static func remove(_ name: String, in parent: Int32, path: String, tally: inout Tally) throws {
        try name.withCString { try remove($0, in: parent, path: path, tally: &tally) }
    }

    /// As above with the raw name bytes, which need not be UTF-8 (rejected files keep their names).
    static func remove(_ name: UnsafePointer<CChar>, in parent: Int32, path: String, tally: inout Tally) throws {
        var info = stat()
        // lstat semantics: a symlink to a folder is seen as the link it is.
        switch Syscall.nothingOrErrno({ fstatat(parent, name, &info, AT_SYMLINK_NOFOLLOW) }) {
        case .success: break
        case .failure(.noSuchFileOrDirectory): return
        case .failure(let error): throw StorageError.syscall("fstatat", path: path, error)
        }
        if info.st_mode & S_IFMT == S_IFDIR {
            // O_NOFOLLOW: if the folder was swapped for a symlink since fstatat, this fails with
            // ELOOP and the link itself is unlinked below instead of being followed.
            switch Syscall.valueOrErrno({ openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }) {
            case .success(let fd):
                try removeContents(fd, path: path, tally: &tally)
                // The folder is empty now; AT_REMOVEDIR is rmdir relative to `parent`.
                switch Syscall.nothingOrErrno({ unlinkat(parent, name, AT_REMOVEDIR) }) {
                case .success, .failure(.noSuchFileOrDirectory): return
                case .failure(let error): throw StorageError.syscall("rmdir", path: path, error)
                }
            case .failure(.noSuchFileOrDirectory): return
            case .failure(.tooManySymbolicLinkLevels), .failure(.notDirectory):
                switch Syscall.nothingOrErrno({ fstatat(parent, name, &info, AT_SYMLINK_NOFOLLOW) }) {
                case .success: break
                case .failure(.noSuchFileOrDirectory): return
                case .failure(let error): throw StorageError.syscall("fstatat", path: path, error)
                }
            case .failure(let error): throw StorageError.syscall("openat", path: path, error)
            }
        }
        // A file, symlink, FIFO, socket or device: unlink the entry itself.
        switch Syscall.nothingOrErrno({ unlinkat(parent, name, 0) }) {
        case .success: break
        case .failure(.noSuchFileOrDirectory): return
        case .failure(let error): throw StorageError.syscall("unlink", path: path, error)
        }
        if info.st_mode & S_IFMT == S_IFREG {
            tally.files += 1
            tally.bytes += Int64(info.st_size)
        }
    }

    /// Removes every entry of the directory open on `fd` (taking ownership of `fd`).
    private static func removeContents(_ fd: Int32, path: String, tally: inout Tally) throws {
        let directory = try DirectoryStream(taking: fd, path: path)
        // Names are read in full before anything is unlinked: removing entries while readdir is
        // part-way through a directory may make it skip others.
        let names = try entryNames(directory)
        try remove(names, in: directory.descriptor, path: path, tally: &tally)
        // Closed only now: the descriptor names the folder `remove` works in.
        _ = consume directory
    }

    /// Removes each of `names` (raw, NUL-terminated) inside the directory open on `fd`, whose path is `path`.
    static func remove(_ names: [[CChar]], in fd: Int32, path: String, tally: inout Tally) throws {
        for name in names {
            try name.withUnsafeBufferPointer { bytes in
                let raw = bytes.baseAddress!
                try remove(raw, in: fd, path: path + "/" + String(cString: raw), tally: &tally)
            }
        }
    }

    /// The names in the directory open on `fd` (not taking ownership of `fd`), as raw NUL-terminated bytes: a
    /// name that is not UTF-8 must reach `unlinkat` unchanged.
    static func entryNames(in fd: Int32, path: String) throws -> [[CChar]] {
        let copy = try Syscall.valueOrErrno { dup(fd) }.orThrow("dup", path: path)
        return try entryNames(try DirectoryStream(taking: copy, path: path))
    }

    private static func entryNames(_ directory: borrowing DirectoryStream) throws -> [[CChar]] {
        var names: [[CChar]] = []
        while let entry = try directory.next() {
            let name = entry.name
            names.append(Array(UnsafeBufferPointer(start: name, count: strlen(name) + 1)))
        }
        return names
    }
}
