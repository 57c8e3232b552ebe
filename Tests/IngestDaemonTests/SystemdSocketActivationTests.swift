import Foundation
import Glibc
import Testing

@testable import IngestDaemon

/// Socket activation as systemd performs it: a socket on fd 3 with `LISTEN_FDS`/`LISTEN_PID` naming this process.
///
/// The cases that put something on fd 3 run as exit tests, in a child process of their own, so that the test
/// runner's own fd 3 is never touched. The child exits 0 when the expectation holds and with a distinct code
/// (explained on stderr) when it does not.
extension SystemdEnvironmentTests {
    @Suite(.timeLimit(.minutes(3)))
    struct SocketActivationTests {
        @Test func noListenFdsMeansBindItself() async throws {
            try await SystemdTestSupport.withEnvironment(["LISTEN_FDS": nil, "LISTEN_PID": nil, "LISTEN_FDNAMES": nil])
            {
                let fd = try SocketActivation.inheritedControlSocket()
                #expect(fd == nil)
            }
        }

        @Test func fdsForAnotherProcessAreIgnoredAndTheVariablesRemoved() async throws {
            // LISTEN_PID of another process: the fds are not ours (a parent's leftovers); fd 3 is not looked at.
            try await SystemdTestSupport.withEnvironment(["LISTEN_FDS": "1", "LISTEN_PID": "1", "LISTEN_FDNAMES": nil])
            {
                let fd = try SocketActivation.inheritedControlSocket()
                #expect(fd == nil)
                #expect(getenv("LISTEN_FDS") == nil)
                #expect(getenv("LISTEN_PID") == nil)
            }
        }

        @Test func oneListeningUnixStreamSocketIsTaken() async {
            await #expect(processExitsWith: .success) {
                SocketActivationTests.handOver(type: SOCK_STREAM, listen: true)
                do {
                    guard let fd = try SocketActivation.inheritedControlSocket() else {
                        SocketActivationTests.fail(10, "nil")
                    }
                    guard fd == 3 else { SocketActivationTests.fail(11, "fd \(fd)") }
                    guard getenv("LISTEN_FDS") == nil, getenv("LISTEN_PID") == nil else {
                        SocketActivationTests.fail(12, "LISTEN_* still set for children")
                    }
                    guard fcntl(fd, F_GETFD) & FD_CLOEXEC != 0 else { SocketActivationTests.fail(13, "no FD_CLOEXEC") }
                    // The socket really is the one handed over: a client can connect through its path.
                    let client = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
                    guard SocketActivationTests.connect(client, to: SocketActivationTests.socketPath()) else {
                        SocketActivationTests.fail(14, "connect: \(errno)")
                    }
                    guard accept(fd, nil, nil) >= 0 else { SocketActivationTests.fail(15, "accept: \(errno)") }
                } catch {
                    SocketActivationTests.fail(16, "\(error)")
                }
            }
        }

        @Test func aDatagramSocketIsRefusedWithAClearError() async {
            await #expect(processExitsWith: .success) {
                SocketActivationTests.handOver(type: SOCK_DGRAM, listen: false)
                SocketActivationTests.expectFailure(containing: "a Unix socket of another type")
            }
        }

        @Test func aStreamSocketThatIsNotListeningIsRefused() async {
            await #expect(processExitsWith: .success) {
                SocketActivationTests.handOver(type: SOCK_STREAM, listen: false)
                SocketActivationTests.expectFailure(containing: "not listening")
            }
        }

        @Test func aRegularFileIsRefused() async {
            await #expect(processExitsWith: .success) {
                let fd = open("/dev/null", O_RDONLY)
                SocketActivationTests.placeOnFd3(fd, count: 1)
                SocketActivationTests.expectFailure(containing: "not a socket")
            }
        }

        @Test func twoSocketsAreRefused() async {
            await #expect(processExitsWith: .success) {
                SocketActivationTests.handOver(type: SOCK_STREAM, listen: true)
                // A second fd (4) besides the socket on 3.
                guard dup2(3, 4) == 4 else { SocketActivationTests.fail(20, "dup2") }
                setenv("LISTEN_FDS", "2", 1)
                SocketActivationTests.expectFailure(containing: "passed 2 file descriptors")
            }
        }

        // MARK: - Helpers that run in the child process

        static func socketPath() -> String {
            "/tmp/ingestd-sd-activation-\(getpid()).sock"
        }

        /// Binds a Unix socket and hands it over on fd 3, as systemd does.
        static func handOver(type: __socket_type, listen: Bool) {
            let path = Self.socketPath()
            unlink(path)
            atexit { unlink(SocketActivationTests.socketPath()) }
            guard let fd = try? SystemdTestSupport.unixSocket(type: type, path: path, listen: listen) else {
                Self.fail(2, "cannot bind \(path)")
            }
            Self.placeOnFd3(fd, count: 1)
        }

        /// Moves `fd` to 3 and sets `LISTEN_FDS`/`LISTEN_PID` for this process.
        static func placeOnFd3(_ fd: Int32, count: Int) {
            guard fd >= 0 else { Self.fail(3, "no fd") }
            if fd != 3 {
                guard dup2(fd, 3) == 3 else { Self.fail(4, "dup2") }
                close(fd)
            }
            setenv("LISTEN_FDS", "\(count)", 1)
            setenv("LISTEN_PID", "\(getpid())", 1)
            unsetenv("LISTEN_FDNAMES")
        }

        /// Exits 0 when socket activation fails with a message containing `text`.
        static func expectFailure(containing text: String) -> Never {
            do {
                let fd = try SocketActivation.inheritedControlSocket()
                Self.fail(30, "accepted fd \(String(describing: fd))")
            } catch {
                guard error.description.contains(text) else { Self.fail(31, "message: \(error.description)") }
                exit(0)
            }
        }

        static func connect(_ fd: Int32, to path: String) -> Bool {
            SystemdTestSupport.withAddress(path) { Glibc.connect(fd, $0, $1) } == 0
        }

        static func fail(_ code: Int32, _ why: String) -> Never {
            let line = Array("socket activation test: \(why)\n".utf8)
            _ = line.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
            exit(code)
        }
    }
}
