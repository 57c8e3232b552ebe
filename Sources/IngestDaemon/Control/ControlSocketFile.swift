import IngestConfig
import Logging
import StorageKit
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// The control socket's file: stale-socket detection before binding, mode and group after.
enum ControlSocketFile {
    /// Makes `path` bindable: creates its parent directory (0755) if missing; removes a stale socket nobody
    /// listens on; throws for a live socket or any other kind of file (left untouched).
    static func prepare(path: String, logger: Logger) throws(ControlServerError) {
        guard !path.isEmpty, path.utf8.count <= 107 else {
            throw ControlServerError("control socket path \(String(reflecting: path)) must be 1 to 107 bytes")
        }
        if let slash = path.lastIndex(of: "/"), slash != path.startIndex {
            try makeDirectories(String(path[..<slash]))
        }
        var st = stat()
        switch Syscall.nothingOrErrno({ lstat(path, &st) }) {
        case .success: break
        case .failure(.noSuchFileOrDirectory): return
        case .failure(let error): throw ControlServerError("cannot inspect the control socket path \(path): \(error)")
        }
        guard (st.st_mode & S_IFMT) == S_IFSOCK else {
            throw ControlServerError(
                "\(path) exists and is not a socket (it is \(kind(of: st.st_mode))); refusing to replace it: "
                    + "remove it or set CONTROL_SOCKET to another path"
            )
        }
        switch probe(path) {
        case .refused:
            switch Syscall.nothingOrErrno(retryOnInterrupt: false, { unlink(path) }) {
            case .success, .failure(.noSuchFileOrDirectory): break
            case .failure(let error):
                throw ControlServerError("cannot remove the stale control socket \(path): \(error)")
            }
            logger.notice("removed stale control socket \(path) (nobody was listening on it)")
        case .listening:
            throw ControlServerError(
                "another ingestd is running on \(path): a process accepts connections on that socket; "
                    + "stop it first or set CONTROL_SOCKET to another path"
            )
        case .failed(let e):
            throw ControlServerError("cannot check whether \(path) is in use: connect: \(String(cString: strerror(e)))")
        }
    }

    /// Applies `mode` and `gid` to the bound socket; returns its device and inode.
    static func applyOwnership(
        path: String,
        mode: UInt32,
        gid: UInt32?
    ) throws(ControlServerError) -> (dev: UInt64, ino: UInt64)? {
        // chmod right after bind: the SO_PEERCRED check covers the instant before it.
        if case .failure(let error) = Syscall.nothingOrErrno({ chmod(path, mode_t(mode)) }) {
            throw ControlServerError("chmod \(String(mode, radix: 8)) \(path): \(error)")
        }
        if let gid, case .failure(let error) = Syscall.nothingOrErrno({ chown(path, uid_t.max, gid) }) {
            throw ControlServerError("chown :\(gid) \(path) (CONTROL_SOCKET_GROUP): \(error)")
        }
        return inode(of: path)
    }

    /// Device and inode of `path` (not following a symlink).
    static func inode(of path: String) -> (dev: UInt64, ino: UInt64)? {
        var st = stat()
        guard lstat(path, &st) == 0 else { return nil }
        return (UInt64(st.st_dev), UInt64(st.st_ino))
    }

    enum Probe: Equatable {
        case refused
        case listening
        case failed(Int32)
    }

    /// Tries to connect to the socket at `path`.
    static func probe(_ path: String) -> Probe {
        let e: Int32
        do {
            close(try UnixSocket.connect(to: path))
            return .listening
        } catch {
            e = error.errno
        }
        switch e {
        case ECONNREFUSED: return .refused
        case EAGAIN: return .listening  // listening, its backlog is full
        default: return .failed(e)
        }
    }

    private static func kind(of mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFREG: return "a regular file"
        case S_IFDIR: return "a directory"
        case S_IFLNK: return "a symbolic link"
        case S_IFIFO: return "a FIFO"
        case S_IFCHR, S_IFBLK: return "a device"
        default: return "not a socket"
        }
    }

    private static func makeDirectories(_ path: String) throws(ControlServerError) {
        do {
            try FileOps.makeDirectories(path)
        } catch {
            throw ControlServerError("cannot create the control socket's directory: \(error)")
        }
    }
}
