import Foundation
import NIOCore
import NIOHTTP1
import StorageKit
import Synchronization
import Testing

@testable import IngestDaemon

#if canImport(Glibc)
import Glibc
#endif

@Suite("Control server routes", .serialized, .timeLimit(.minutes(3)))
struct ControlServerRouteTests {
    @Test func healthAnswersJSON() async throws {
        let t = try await TestServer.start()
        defer { Task { await t.stop() } }
        let r = try await fetch(t.socket, "GET", "/health")
        #expect(r.status == 200)
        #expect(r.header("content-type") == "application/json")
        #expect(r.object["status"] as? String == "ok")
        #expect((r.object["queues"] as? [String: Any])?["ingest"] as? Int == 0)
    }

    @Test func keepAliveServesSeveralRequestsOnOneConnection() async throws {
        let t = try await TestServer.start()
        defer { Task { await t.stop() } }
        let statuses = try await onThread { () -> [Int] in
            let c = try RawClient(path: t.socket)
            return try (0..<5).map { _ in try c.request("GET", "/health").status }
        }
        #expect(statuses == [200, 200, 200, 200, 200])
    }

    @Test func storageStatsAndErrorMapping() async throws {
        let t = try await TestServer.start()
        defer { Task { await t.stop() } }
        #expect(try await fetch(t.socket, "GET", "/storage/stats").object["root"] as? String == "/srv/storage")
        let p = try await fetch(t.socket, "GET", "/projects/demo/storage/stats")
        #expect(p.status == 200 && p.object["project_id"] as? String == "demo")
        let missing = try await fetch(t.socket, "GET", "/projects/missing/storage/stats")
        #expect(missing.status == 404 && missing.object["error"] as? String == "not_found")
        let boom = try await fetch(t.socket, "GET", "/projects/boom/storage/stats")
        #expect(boom.status == 500 && boom.object["detail"] as? String == "disk on fire")
    }

    @Test func listPagesAndValidatesLimit() async throws {
        let t = try await TestServer.start()
        defer { Task { await t.stop() } }
        let all = try await fetch(t.socket, "GET", "/projects/demo/videos")
        #expect(all.status == 200 && (all.json as? [Any])?.count == 2)
        let page = try await fetch(t.socket, "GET", "/projects/demo/videos?limit=1&after=a1")
        #expect(((page.json as? [[String: Any]])?.first?["id"] as? String) == "a2")
        #expect(page.text.contains("uploads/project_demo/"))  // slashes not escaped
        let empty = try await fetch(t.socket, "GET", "/projects/other/videos")
        #expect(empty.status == 200 && empty.text == "[]")
        for bad in ["limit=0", "limit=abc", "limit=-1", "limit=1&limit=2", "bogus=1", "limit=%zz"] {
            let r = try await fetch(t.socket, "GET", "/projects/demo/videos?\(bad)")
            #expect(r.status == 400, "query \(bad)")
            #expect(r.object["error"] != nil)
        }
    }

    @Test func getAndDeleteOneAsset() async throws {
        let t = try await TestServer.start()
        defer { Task { await t.stop() } }
        let one = try await fetch(t.socket, "GET", "/projects/demo/videos/a1")
        #expect(one.status == 200 && one.object["id"] as? String == "a1")
        #expect(one.object["thumbnail_path"] is NSNull)
        #expect(try await fetch(t.socket, "GET", "/projects/demo/videos/nope").status == 404)
        let del = try await fetch(t.socket, "DELETE", "/projects/demo/videos/a1")
        #expect(del.status == 204 && del.body.isEmpty)
        #expect(try await fetch(t.socket, "DELETE", "/projects/demo/videos/a1").status == 404)
    }

    @Test func purgeRescanRepairRejectedRetryMetrics() async throws {
        let t = try await TestServer.start()
        defer { Task { await t.stop() } }
        let purge = try await fetch(t.socket, "DELETE", "/projects/demo/storage")
        #expect(purge.status == 200 && purge.object["project_id"] as? String == "demo")
        let rescan = try await fetch(t.socket, "POST", "/rescan")
        #expect(rescan.status == 202 && rescan.object["status"] as? String == "accepted")
        #expect(t.backend.rescans.withLock { $0 } == 1)
        #expect(try await fetch(t.socket, "POST", "/repair?dry_run=1").status == 200)
        #expect(try await fetch(t.socket, "POST", "/repair").status == 200)
        #expect(try await fetch(t.socket, "POST", "/repair?dry_run=maybe").status == 400)
        #expect(t.backend.repairs.withLock { $0 } == [true, false])
        let rejected = try await fetch(t.socket, "GET", "/projects/demo/rejected")
        #expect(rejected.status == 200 && (rejected.json as? [Any])?.count == 1)
        let retry = try await fetch(t.socket, "POST", "/projects/demo/rejected/bad%20file.txt/retry")
        #expect(retry.status == 202)
        #expect(try await fetch(t.socket, "POST", "/projects/demo/rejected/other.mp4/retry").status == 404)
        for bad in ["..", ".", "a%2Fb"] {
            #expect(
                try await fetch(t.socket, "POST", "/projects/demo/rejected/\(bad)/retry").status == 400,
                "name \(bad)"
            )
        }
        #expect(t.backend.retries.withLock { $0 } == ["bad file.txt", "other.mp4"])
        let metrics = try await fetch(t.socket, "GET", "/metrics")
        #expect(metrics.status == 200 && metrics.header("content-type")?.hasPrefix("text/plain; version=0.0.4") == true)
        #expect(metrics.text.contains("ingestd_files_ingested_total"))
    }

    @Test func unknownPathsMethodsAndProjectIDs() async throws {
        let t = try await TestServer.start()
        defer { Task { await t.stop() } }
        let unknown = try await fetch(t.socket, "GET", "/nope")
        #expect(unknown.status == 404 && unknown.object["error"] as? String == "not_found")
        let wrong = try await fetch(t.socket, "PUT", "/projects/demo/videos")
        #expect(wrong.status == 405)
        // HEAD is served wherever GET is, and listed with it.
        #expect(wrong.header("allow") == "GET, HEAD, POST")
        #expect(try await fetch(t.socket, "POST", "/health").header("allow") == "GET, HEAD")
        let badID = try await fetch(t.socket, "GET", "/projects/bad.id/videos")
        #expect(badID.status == 400 && badID.object["error"] as? String == "invalid_project_id")
        #expect(try await fetch(t.socket, "GET", "/projects/a%20b/videos").status == 400)
        #expect(try await fetch(t.socket, "GET", "/health?x=1").status == 400)
    }

    @Test func garbageGets400AndTheServerKeepsServing() async throws {
        let t = try await TestServer.start()
        defer { Task { await t.stop() } }
        let (status, closed) = try await onThread { () -> (Int, Bool) in
            let c = try RawClient(path: t.socket)
            try c.send([0x16, 0x03, 0x01, 0x00, 0xff] + Array("\u{1}garbage\r\n\r\n".utf8))
            let r = try c.readResponse()
            return (r.status, try c.isClosed())
        }
        #expect(status == 400)
        #expect(closed)
        let huge = try await onThread { () -> Int in
            let c = try RawClient(path: t.socket)
            try c.send("GET /health HTTP/1.1\r\nX-Big: \(String(repeating: "a", count: 40_000))\r\n\r\n")
            return try c.readResponse().status
        }
        #expect(huge == 431)
        let longLine = try await onThread { () -> Int in
            let c = try RawClient(path: t.socket)
            try? c.send("GET /" + String(repeating: "a", count: 200_000))
            return try c.readResponse().status
        }
        #expect(longLine == 431)
        #expect(try await fetch(t.socket, "GET", "/health").status == 200)
    }

    @Test func eventsStreamFollowsAndEndsWhenTheClientLeaves() async throws {
        let t = try await TestServer.start()
        defer { Task { await t.stop() } }
        let lines = try await onThread { () -> [String] in
            let c = try RawClient(path: t.socket)
            try c.send("GET /events?since=41 HTTP/1.1\r\nHost: x\r\n\r\n")
            let (status, headers) = try c.readHead()
            guard status == 200,
                headers.contains(where: { $0.0.lowercased() == "content-type" && $0.1 == "application/x-ndjson" })
            else {
                return ["bad head \(status)"]
            }
            var out: [String] = []
            // chunk size line, then the event line
            while out.count < 2, let line = try c.readLine() {
                if line.hasPrefix("{") { out.append(line) }
                if out.count == 1 { _ = t.backend.emit("{\"id\":43,\"type\":\"ingested\"}\n") }
            }
            return out
        }
        #expect(lines == ["{\"id\":42,\"type\":\"replayed\"}", "{\"id\":43,\"type\":\"ingested\"}"])
        // The client closed: the subscription must end.
        var ended = false
        for _ in 0..<100 where !ended {
            try await Task.sleep(for: .milliseconds(50))
            ended = t.backend.terminatedSubscriptions.withLock { $0 } == 1
        }
        #expect(ended)
        #expect(try await fetch(t.socket, "GET", "/events?since=x").status == 400)
    }

    @Test func slowEventsReaderDoesNotBlockTheBackend() async throws {
        let t = try await TestServer.start()
        defer { Task { await t.stop() } }
        let client = try await onThread { () -> RawClient in
            let c = try RawClient(path: t.socket)
            try c.send("GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
            _ = try c.readHead()
            return c
        }
        let line = "{\"id\":1,\"type\":\"ingested\",\"pad\":\"" + String(repeating: "x", count: 1000) + "\"}\n"
        let clock = ContinuousClock()
        let started = clock.now
        for _ in 0..<20_000 { t.backend.emit(line) }  // 20 MB the client never reads
        #expect(clock.now - started < .seconds(5))
        #expect(try await fetch(t.socket, "GET", "/health").status == 200)
        _ = client
    }

    @Test func serverClosesToEndEventStreams() async throws {
        let t = try await TestServer.start()
        let c = try await onThread { () -> RawClient in
            let c = try RawClient(path: t.socket)
            try c.send("GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
            _ = try c.readHead()
            return c
        }
        t.backend.endEvents()
        let closed = try await onThread { () -> Bool in
            while let line = try c.readLine() { if line == "0" { break } }
            return try c.isClosed()
        }
        #expect(closed)
        await t.stop()
    }
}
