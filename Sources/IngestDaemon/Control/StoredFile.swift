import StorageKit
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// A stored file opened for delivery: a read-only descriptor and what `fstat` said of it.
///
/// Opened component by component below the storage root with `O_NOFOLLOW` (`openat`), so neither the file nor
/// any folder on its way may be a symlink, and only a regular file is accepted. The descriptor belongs to the
/// caller (``close()`` it, or hand it to a `NIOFileHandle`).
struct StoredFile: Sendable {
    let fd: CInt
    let size: Int64
    /// Modification time, seconds and nanoseconds since the epoch.
    let mtimeSeconds: Int64
    let mtimeNanoseconds: Int64
    let device: UInt64
    let inode: UInt64

    /// Why a file could not be opened.
    enum Failure: Error, Equatable {
        /// Missing, not a regular file, or reached through a symlink: answered 404.
        case absent
        /// Anything else (permissions, I/O): answered 500; the text is the errno's.
        case failed(String)
    }

    /// Opens `relative` (slash-separated, as a record holds it) below `root`.
    static func open(root: String, relative: String) throws(Failure) -> StoredFile {
        let components = relative.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard let name = components.last, components.allSatisfy(StorageLayout.isSafeComponent) else { throw .absent }
        let rootFD = try opened(Syscall.valueOrErrno { Glibc.open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC) })
        let folders = components.dropLast().map { Array($0.utf8) }
        let dir = try opened(FolderWalk.descend(from: rootFD, through: folders, flags: O_RDONLY).mapError(\.error))
        defer { Glibc.close(dir) }
        // O_NONBLOCK: a FIFO put in place of the file must not hang the open; fstat then refuses it.
        let fd = try opened(
            Syscall.valueOrErrno { openat(dir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC) }
        )
        var st = stat()
        if case .failure(let error) = Syscall.nothingOrErrno({ fstat(fd, &st) }) {
            Glibc.close(fd)
            throw failure(error)
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            Glibc.close(fd)
            throw .absent
        }
        return StoredFile(
            fd: fd,
            size: Int64(st.st_size),
            mtimeSeconds: Int64(st.st_mtim.tv_sec),
            mtimeNanoseconds: Int64(st.st_mtim.tv_nsec),
            device: UInt64(st.st_dev),
            inode: UInt64(st.st_ino)
        )
    }

    /// Closes the descriptor (when it was not handed over).
    func close() { _ = Glibc.close(fd) }

    /// The entity tag of a derived file (thumbnail, rendition, sprite): inode, size and mtime in nanoseconds, in
    /// hex (`"1a2b-5f3e1-17d2c…"`). Derived files are written under a temporary name and renamed whole, so a
    /// new version always has a new inode or mtime, and an unchanged file keeps its tag across restarts.
    var derivedETag: String {
        let nanos = mtimeSeconds &* 1_000_000_000 &+ mtimeNanoseconds
        return
            "\"\(String(inode, radix: 16))-\(String(size, radix: 16))-\(String(UInt64(bitPattern: nanos), radix: 16))\""
    }

    /// The descriptor, or the failure its open says.
    private static func opened(_ result: Result<CInt, Errno>) throws(Failure) -> CInt {
        switch result {
        case .success(let fd): return fd
        case .failure(let error): throw failure(error)
        }
    }

    private static func failure(_ error: Errno) -> Failure {
        switch error {
        case .noSuchFileOrDirectory, .notDirectory, .tooManySymbolicLinkLevels, .noSuchAddressOrDevice: .absent
        default: .failed(error.description)
        }
    }
}
