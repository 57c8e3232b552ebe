import StorageKit

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
        guard !components.isEmpty, components.allSatisfy(StorageLayout.isSafeComponent) else { throw .absent }
        var dir = Glibc.open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dir >= 0 else { throw failure(errno, root) }
        for component in components.dropLast() {
            let next = openat(dir, component, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            let e = errno
            Glibc.close(dir)
            guard next >= 0 else { throw failure(e, relative) }
            dir = next
        }
        // O_NONBLOCK: a FIFO put in place of the file must not hang the open; fstat then refuses it.
        let fd = openat(dir, components[components.count - 1], O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        let e = errno
        Glibc.close(dir)
        guard fd >= 0 else { throw failure(e, relative) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let e = errno
            Glibc.close(fd)
            throw failure(e, relative)
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

    private static func failure(_ e: CInt, _: String) -> Failure {
        switch e {
        case ENOENT, ENOTDIR, ELOOP, ENXIO: return .absent
        default: return .failed(String(cString: strerror(e)))
        }
    }
}
