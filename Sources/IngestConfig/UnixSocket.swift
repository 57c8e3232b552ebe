#if canImport(Glibc)
import Glibc
#endif

/// Connecting to a Unix stream socket by path: the daemon's probe for a live control socket and ingestctl's
/// connection build the same `sockaddr_un`.
public enum UnixSocket {
    /// Why a connection could not be made: the `errno` of `socket(2)` or `connect(2)` (`ENAMETOOLONG` for a
    /// path that does not fit `sun_path`).
    public struct Failure: Error, Sendable, Equatable {
        public let errno: Int32

        public init(errno: Int32) {
            self.errno = errno
        }
    }

    /// The longest path `sun_path` holds, without its terminating NUL.
    public static let maxPathBytes = MemoryLayout.size(ofValue: sockaddr_un().sun_path) - 1

    /// A new close-on-exec stream socket connected to `path`; the caller closes it.
    public static func connect(to path: String) throws(Failure) -> Int32 {
        let bytes = Array(path.utf8)
        guard bytes.count <= maxPathBytes, !bytes.contains(0) else { throw Failure(errno: ENAMETOOLONG) }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Failure(errno: errno) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard rc == 0 else {
            let e = errno
            close(fd)
            throw Failure(errno: e)
        }
        return fd
    }
}
