import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `config/nginx-ingestd.conf` with a real nginx (installed by scripts/install-deps.sh) in front of the built
/// daemon: only its socket path and port are swapped for the test's.
@Suite(.timeLimit(.minutes(4)))
struct NginxEndToEndTests {
    static let nginx = "/usr/sbin/nginx"

    /// The repository's example config, found from this source file.
    static var exampleConfig: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("config/nginx-ingestd.conf")
            .path
    }

    /// A TCP port nobody listens on right now.
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard ok else { throw DaemonHarness.Failure(description: "no free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Writes a main nginx.conf around the example site (socket and port swapped); returns its path.
    static func writeConfig(in dir: String, socket: String, port: Int) throws -> String {
        var site = try String(contentsOfFile: exampleConfig, encoding: .utf8)
        #expect(site.contains("proxy_pass http://unix:/run/ingestd/control.sock:;"))
        site = site.replacingOccurrences(of: "/run/ingestd/control.sock", with: socket)
            .replacingOccurrences(of: "listen 8080;", with: "listen 127.0.0.1:\(port);")
        try site.write(toFile: dir + "/site.conf", atomically: true, encoding: .utf8)
        // One process (no workers switching to another user): it connects as the test's user, which the daemon
        // allows as its own.
        let main = """
            master_process off;
            daemon off;
            pid \(dir)/nginx.pid;
            error_log \(dir)/error.log;
            events { worker_connections 64; }
            http {
                access_log off;
                client_body_temp_path \(dir)/body;
                proxy_temp_path \(dir)/proxy;
                fastcgi_temp_path \(dir)/fastcgi;
                uwsgi_temp_path \(dir)/uwsgi;
                scgi_temp_path \(dir)/scgi;
                include \(dir)/site.conf;
            }
            """
        try main.write(toFile: dir + "/nginx.conf", atomically: true, encoding: .utf8)
        return dir + "/nginx.conf"
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: nginx)))
    func browsersGetTheDeliveryRoutesThroughNginx() async throws {
        let h = try DaemonHarness()
        defer { h.remove() }
        try await h.start()
        try h.drop(try await TestClips.mp4, as: "web/talk.mp4")
        try await waitUntil("the clip has its thumbnail") {
            try await h.assets("web").first?["thumbnail_path"] as? String != nil
        }
        let record = try await h.assets("web")[0]
        let id = try #require(record["id"] as? String)
        let stored = [UInt8](
            try Data(contentsOf: URL(fileURLWithPath: h.storage + "/" + (record["relative_path"] as! String)))
        )

        let dir = h.root + "/nginx"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let port = try Self.freePort()
        let config = try Self.writeConfig(in: dir, socket: h.socket, port: port)
        let check = try await Program.run(Self.nginx, ["-t", "-q", "-p", dir, "-c", config], timeout: .seconds(30))
        #expect(check.status == 0, "nginx -t refused the example config: \(check.stderrText)")

        let server = try ChildProcess(Self.nginx, ["-p", dir, "-c", config])
        defer {
            // SIGKILL: one process (`master_process off`), nothing to drain.
            server.signal(SIGKILL)
            _ = try? server.waitBlocking(timeout: .seconds(10))
        }
        let base = "http://127.0.0.1:\(port)/projects/web/videos/\(id)"
        @Sendable func get(_ url: String, _ extra: [String] = []) async throws -> (Int, [UInt8]) {
            // On its own thread: the servers of tests running alongside need the cooperative threads.
            let out = try await onThread {
                try DaemonHarness.run(
                    "/usr/bin/curl",
                    ["-s", "--max-time", "10", "-w", "\n%{http_code}"] + extra + [url]
                )
            }
            let newline = out.lastIndex(of: 0x0A) ?? 0
            return (Int(String(decoding: out[(newline + 1)...], as: UTF8.self)) ?? 0, Array(out[..<newline]))
        }
        for _ in 0..<200 where (try? await get(base + "/content").0) != 200 {
            try await Task.sleep(for: .milliseconds(25))
        }

        let whole = try await get(base + "/content")
        #expect(whole.0 == 200 && whole.1 == stored)
        let part = try await get(base + "/content", ["-H", "Range: bytes=10-19"])
        #expect(part.0 == 206 && part.1 == Array(stored[10..<20]))
        let etag = "\"\(record["checksum"] as! String)\""
        #expect(try await get(base + "/content", ["-H", "If-None-Match: \(etag)"]).0 == 304)
        let head = try await onThread {
            try DaemonHarness.run("/usr/bin/curl", ["-s", "-I", "--max-time", "10", base + "/content"])
        }
        let headText = String(decoding: head, as: UTF8.self).lowercased()
        #expect(headText.contains("content-length: \(stored.count)") && headText.contains("accept-ranges: bytes"))
        let thumb = try await get(base + "/thumbnail")
        #expect(thumb.0 == 200 && thumb.1.prefix(2) == [0xFF, 0xD8])
        // The rest of the control API is not published.
        #expect(try await get("http://127.0.0.1:\(port)/health").0 == 404)
        #expect(try await get("http://127.0.0.1:\(port)/projects/web/videos").0 == 404)
        #expect(try await get(base + "/content", ["-X", "DELETE"]).0 == 403)
        #expect(try await h.assets("web").count == 1)
        #expect(try await h.stop() == 0)
    }
}
