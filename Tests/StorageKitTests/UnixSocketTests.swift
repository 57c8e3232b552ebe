import Foundation
import IngestConfig
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite struct UnixSocketTests {
    /// A socket bound at `path`, listening when `listening`; returns its descriptor.
    private func bound(at path: String, listening: Bool) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        try #require(fd >= 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: Array(path.utf8))
            raw[path.utf8.count] = 0
        }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        try #require(rc == 0)
        if listening { try #require(listen(fd, 4) == 0) }
        return fd
    }

    @Test func connectsToAListenerAndSaysWhyOtherwise() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("us-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }

        let live = dir.path + "/live.sock"
        let listener = try bound(at: live, listening: true)
        defer { close(listener) }
        let fd = try UnixSocket.connect(to: live)
        #expect(fd >= 0 && fcntl(fd, F_GETFD) & FD_CLOEXEC != 0)
        close(fd)

        let stale = dir.path + "/stale.sock"
        let notListening = try bound(at: stale, listening: false)
        defer { close(notListening) }
        #expect(throws: UnixSocket.Failure(errno: ECONNREFUSED)) { try UnixSocket.connect(to: stale) }
        #expect(throws: UnixSocket.Failure(errno: ENOENT)) { try UnixSocket.connect(to: dir.path + "/none.sock") }
        let long = "/" + String(repeating: "x", count: UnixSocket.maxPathBytes)
        #expect(throws: UnixSocket.Failure(errno: ENAMETOOLONG)) { try UnixSocket.connect(to: long) }
        #expect(UnixSocket.maxPathBytes == 107)
    }
}
