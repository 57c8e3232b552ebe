import Foundation
import Logging
import NIOHTTP1
import StorageKit
import Testing

@testable import IngestDaemon

#if canImport(Glibc)
import Glibc
#endif

@Suite("Control socket file and peer check", .serialized, .timeLimit(.minutes(3)))
struct ControlSocketTests {
    static var quietLogger: Logger {
        var l = Logger(label: "control-test")
        l.logLevel = .critical
        return l
    }

    /// A socket file nobody listens on (bound, then the fd closed).
    static func makeStaleSocket(_ path: String) {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            let b = Array(path.utf8)
            raw.copyBytes(from: b)
            raw[b.count] = 0
        }
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        close(fd)
    }

    @Test func staleSocketIsReplacedAndModeApplied() async throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let path = dir.path + "/ingestd.sock"
        Self.makeStaleSocket(path)
        let backend = FakeBackend(stagingDirectory: dir.path + "/staging")
        let server = try await ControlServer.start(.path(path, mode: 0o600), backend: backend, logger: Self.quietLogger)
        var st = stat()
        #expect(lstat(path, &st) == 0)
        #expect(st.st_mode & 0o777 == 0o600)
        #expect(st.st_mode & S_IFMT == S_IFSOCK)
        #expect(try await fetch(path, "GET", "/health").status == 200)
        // A second server on the same live socket is refused.
        await #expect(throws: ControlServerError.self) {
            _ = try await ControlServer.start(.path(path), backend: backend, logger: Self.quietLogger)
        }
        do {
            _ = try await ControlServer.start(.path(path), backend: backend, logger: Self.quietLogger)
        } catch let e as ControlServerError {
            #expect(e.message.contains("another ingestd is running on \(path)"))
        }
        await server.close()
        #expect(access(path, F_OK) != 0)  // removed on close
    }

    @Test func regularFileAtTheSocketPathIsRefusedAndKept() async throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let path = dir.path + "/ingestd.sock"
        try "precious".write(toFile: path, atomically: false, encoding: .utf8)
        let backend = FakeBackend(stagingDirectory: dir.path + "/staging")
        do {
            _ = try await ControlServer.start(.path(path), backend: backend, logger: Self.quietLogger)
            Issue.record("start succeeded over a regular file")
        } catch let e as ControlServerError {
            #expect(e.message.contains("is not a socket"))
        }
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "precious")
    }

    @Test func unknownGroupIsAnErrorAtStart() async throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let backend = FakeBackend(stagingDirectory: dir.path + "/staging")
        await #expect(throws: ControlServerError.self) {
            _ = try await ControlServer.start(
                .path(dir.path + "/s.sock"),
                socketGroup: "no-such-group-xyz",
                backend: backend,
                logger: Self.quietLogger
            )
        }
        let server = try await ControlServer.start(
            .path(dir.path + "/s.sock"),
            socketGroup: "0",
            backend: backend,
            logger: Self.quietLogger
        )
        var st = stat()
        #expect(lstat(dir.path + "/s.sock", &st) == 0 && st.st_gid == 0)
        await server.close()
    }

    @Test func inheritedSocketIsAdopted() async throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let path = dir.path + "/activated.sock"
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            let b = Array(path.utf8)
            raw.copyBytes(from: b)
            raw[b.count] = 0
        }
        #expect(
            withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            } == 0
        )
        #expect(listen(fd, 16) == 0)
        let backend = FakeBackend(stagingDirectory: dir.path + "/staging")
        let server = try await ControlServer.start(.inherited(fd), backend: backend, logger: Self.quietLogger)
        #expect(try await fetch(path, "GET", "/health").status == 200)
        await server.close()
    }

    @Test func peerCredentialsRefuseOtherUsers() async throws {
        guard geteuid() == 0 else { return }  // needs root to become uid 65534
        let t = try await TestServer.start(mode: 0o666)
        defer { Task { await t.stop() } }
        chmod(t.dir.path + "/run", 0o755)
        // Everything the child touches is prepared before fork: it only makes system calls.
        let request = Array("GET /health HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
        let expected = Array("HTTP/1.1 403".utf8)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            let b = Array(t.socket.utf8)
            raw.copyBytes(from: b)
            raw[b.count] = 0
        }
        let reply = UnsafeMutableRawPointer.allocate(byteCount: 4096, alignment: 1)
        defer { reply.deallocate() }
        let replyAddress = Int(bitPattern: reply)
        let preparedAddress = address
        let status = try await onThread { () -> Int32 in
            let reply = UnsafeMutableRawPointer(bitPattern: replyAddress)!
            var address = preparedAddress
            let pid = fork()
            if pid == 0 {
                if setgroups(0, nil) != 0 || setgid(65534) != 0 || setuid(65534) != 0 { _exit(10) }
                let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
                let rc = withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                    }
                }
                if rc != 0 { _exit(11) }
                _ = request.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                var got = 0
                while got < 4096 {
                    let n = read(fd, reply + got, 4096 - got)
                    if n <= 0 { break }
                    got += n
                }
                if got < expected.count { _exit(12) }
                let same = expected.withUnsafeBytes { memcmp(reply, $0.baseAddress!, expected.count) == 0 }
                _exit(same ? 0 : 13)
            }
            var st: Int32 = 0
            waitpid(pid, &st, 0)
            return (st >> 8) & 0xff
        }
        #expect(status == 0, "child exit \(status): 10 setuid, 11 connect, 12 short reply, 13 not 403")
        // Root (this process) is still served.
        #expect(try await fetch(t.socket, "GET", "/health").status == 200)
    }

    @Test func accessPolicy() {
        let policy = ControlAccessPolicy(ownUID: 1000, groupID: 4242)
        #expect(policy.allows(PeerCredentials(pid: 1, uid: 0, gid: 0)))
        #expect(policy.allows(PeerCredentials(pid: 1, uid: 1000, gid: 1000)))
        #expect(policy.allows(PeerCredentials(pid: 1, uid: 2000, gid: 4242)))
        #expect(!policy.allows(PeerCredentials(pid: -1, uid: 2000, gid: 2000)))
        #expect(!ControlAccessPolicy(ownUID: 1000, groupID: nil).allows(PeerCredentials(pid: 1, uid: 2000, gid: 4242)))
        #expect(ControlAccessPolicy.supplementaryGroups(pid: getpid()) != nil)
    }

    @Test func routerIsStrict() throws {
        #expect(
            try ControlRouter.resolve(method: .GET, uri: "/projects/p-1_x/videos/abc").route
                == .getVideo(ProjectID(exactly: "p-1_x")!, assetID: "abc")
        )
        #expect(
            try ControlRouter.resolve(method: .POST, uri: "/projects/p/rejected/a%20b+c.mp4/retry").route
                == .retryRejected(ProjectID(exactly: "p")!, name: "a b+c.mp4")
        )
        #expect(throws: ControlAPIError.self) { try ControlRouter.resolve(method: .GET, uri: "/health/") }
        #expect(throws: ControlAPIError.self) { try ControlRouter.resolve(method: .GET, uri: "//health") }
        // An absolute-form target is served as its path (RFC 9112 §3.2.2: a server must accept it).
        #expect(try ControlRouter.resolve(method: .GET, uri: "http://x/health").route == .health)
        #expect(throws: ControlAPIError.self) { try ControlRouter.resolve(method: .GET, uri: "http://x/health/") }
        #expect(UploadFilename.sanitize("../../etc/passwd\u{0}.mp4") == "passwd.mp4")
        #expect(UploadFilename.sanitize("/abs/clip.MOV") == "clip.MOV")
        #expect(UploadFilename.sanitize("..") == nil)
        #expect(UploadFilename.sanitize("a/") == "a")
    }
}
