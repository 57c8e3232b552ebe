import CSystemd
import Glibc

/// Socket activation (`sd_listen_fds(3)`): the control socket handed over by `ingestd.socket`.
enum SocketActivation {
    /// Why an inherited socket cannot be used.
    struct Failure: Error, CustomStringConvertible, Equatable {
        /// A sentence naming what was found and what is expected.
        let description: String
    }

    /// The inherited control socket: one AF_UNIX SOCK_STREAM socket in listening state on fd 3, or nil when
    /// systemd passed none (`LISTEN_FDS` unset, or `LISTEN_PID` names another process) and the daemon should bind
    /// `CONTROL_SOCKET` itself.
    ///
    /// `LISTEN_PID`, `LISTEN_FDS` and `LISTEN_FDNAMES` are removed from the environment, so that children do not
    /// take the socket for theirs; the fd gets `FD_CLOEXEC`. Give the fd to NIO with
    /// `ServerBootstrap.withBoundSocket(_:)`, which takes ownership of it.
    ///
    /// - Throws: ``Failure`` when more than one fd was passed, the variables are malformed, or the fd is not a
    ///   listening Unix stream socket (e.g. `ListenDatagram=` or `Accept=yes` in the socket unit).
    static func inheritedControlSocket() throws(Failure) -> Int32? {
        // sd_listen_fds(3): 1 = unset LISTEN_* afterwards; returns the number of fds from SD_LISTEN_FDS_START on,
        // 0 when none were passed to this pid, or a negative errno for malformed variables.
        let count = sd_listen_fds(1)
        if count < 0 {
            throw Failure(
                description: "socket activation: LISTEN_FDS/LISTEN_PID are malformed (\(Self.errorText(-count)))"
            )
        }
        if count == 0 {
            return nil
        }
        if count > 1 {
            throw Failure(
                description:
                    "socket activation: systemd passed \(count) file descriptors, but ingestd takes exactly one "
                    + "(a single ListenStream= for the control socket in ingestd.socket)"
            )
        }
        let fd = SD_LISTEN_FDS_START
        // sd_is_socket_unix(3): type SOCK_STREAM, listening = 1, no path check; > 0 when it matches, 0 when not,
        // negative errno when fd is not a socket at all or fstat fails.
        let isListeningUnixStream = sd_is_socket_unix(fd, Int32(SOCK_STREAM.rawValue), 1, nil, 0)
        if isListeningUnixStream < 0 {
            throw Failure(
                description: "socket activation: fd \(fd) cannot be checked (\(Self.errorText(-isListeningUnixStream)))"
            )
        }
        if isListeningUnixStream == 0 {
            throw Failure(
                description:
                    "socket activation: fd \(fd) is \(Self.describe(fd)), but ingestd needs a listening AF_UNIX "
                    + "SOCK_STREAM socket (ListenStream=/run/ingestd/control.sock, Accept=no)"
            )
        }
        return fd
    }

    /// A few words on what `fd` is, for the error message.
    private static func describe(_ fd: Int32) -> String {
        var status = stat()
        // fstat(2) only to tell sockets from other files in the message.
        guard fstat(fd, &status) == 0 else { return "not open" }
        guard (status.st_mode & S_IFMT) == S_IFSOCK else { return "not a socket" }
        if sd_is_socket(fd, AF_UNIX, 0, -1) <= 0 { return "a non-Unix socket" }
        if sd_is_socket_unix(fd, Int32(SOCK_STREAM.rawValue), -1, nil, 0) <= 0 {
            return "a Unix socket of another type"
        }
        return "a Unix stream socket that is not listening"
    }

    private static func errorText(_ code: Int32) -> String {
        String(cString: strerror(code))
    }
}
