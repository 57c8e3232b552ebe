import Foundation
import NIOHTTP1
import StorageKit
import Testing

@testable import IngestDaemon

#if canImport(Glibc)
import Glibc
#endif

/// HTTP as clients other than curl speak it (audit of 2026-12-07): `nc -N` and `socat` half-close after the
/// request, `curl -I` asks `HEAD`, proxies send absolute-form targets, ids come in upper case, and a full server
/// answers instead of hanging up.
@Suite("Control HTTP edge cases", .serialized, .timeLimit(.minutes(3)))
struct ControlHTTPEdgeTests {
    /// The request was carried out, but no answer came: the server closed the connection on the client's EOF.
    @Test func aClientThatHalfClosesAfterItsRequestStillGetsTheAnswer() async throws {
        let t = try await TestServer.start()
        defer { Task { await t.stop() } }
        for version in ["HTTP/1.1", "HTTP/1.0"] {
            let r = try await onThread { () -> RawResponse in
                let c = try RawClient(path: t.socket)
                try c.send("GET /health \(version)\r\nHost: x\r\nConnection: close\r\n\r\n")
                #expect(shutdown(c.fd, Int32(SHUT_WR)) == 0)
                return try c.readResponse()
            }
            #expect(r.status == 200, "\(version)")
            #expect(r.object["status"] as? String == "ok")
        }
    }

    @Test func headIsAnsweredWhereGetIs() async throws {
        let t = try await TestServer.start()
        defer { Task { await t.stop() } }
        let get = try await fetch(t.socket, "GET", "/health")
        let (status, headers) = try await onThread { () -> (Int, [(String, String)]) in
            let c = try RawClient(path: t.socket)
            try c.send("HEAD /health HTTP/1.1\r\nHost: x\r\n\r\n")
            let head = try c.readHead()
            // Nothing follows the head: the next answer on the connection is the next request's.
            try c.send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try c.readResponse().status == 200)
            return head
        }
        #expect(status == 200)
        let length = headers.first { $0.0.lowercased() == "content-length" }?.1
        #expect(length == String(get.body.count))
        for path in ["/projects", "/metrics", "/storage/stats", "/projects/demo/videos"] {
            #expect(try await fetch(t.socket, "HEAD", path).status == 200, "\(path)")
        }
        let refused = try await fetch(t.socket, "POST", "/health")
        #expect(refused.status == 405)
        #expect(refused.header("allow") == "GET, HEAD")
    }

    @Test func absoluteFormTargetsAreServed() throws {
        #expect(try ControlRouter.resolve(method: .GET, uri: "http://localhost/health").route == .health)
        #expect(try ControlRouter.resolve(method: .GET, uri: "HTTP://localhost:80/projects").route == .projects)
        let repair = try ControlRouter.resolve(method: .POST, uri: "http://x/repair?dry_run=1")
        #expect(repair.route == .repair)
        #expect(try repair.query.dryRun())
        #expect(throws: ControlAPIError.self) { try ControlRouter.resolve(method: .GET, uri: "health") }
    }

    @Test func assetIDsAreMatchedWhateverTheirCase() throws {
        let upper = "3F2B8C1E-0A4D-4E5F-9A6B-7C8D9E0F1A2B"
        let target = try ControlRouter.resolve(method: .GET, uri: "/projects/demo/videos/\(upper)")
        #expect(target.route == .getVideo(try ControlRouter.project("demo"), assetID: upper.lowercased()))
        // Ids that are not UUIDs are kept as given.
        let other = try ControlRouter.resolve(method: .DELETE, uri: "/projects/demo/videos/AbC")
        #expect(other.route == .deleteVideo(try ControlRouter.project("demo"), assetID: "AbC"))
    }

    /// Beyond the connection limit the server answered nothing and hung up; a client then cannot tell a full
    /// server from a dead one.
    @Test func aConnectionBeyondTheLimitGetsA503() async throws {
        let t = try await TestServer.start { $0.maxConnections = 1 }
        defer { Task { await t.stop() } }
        let (held, answer) = try await onThread { () -> (Int, RawResponse) in
            let first = try RawClient(path: t.socket)
            let held = try first.request("GET", "/health").status
            let second = try RawClient(path: t.socket)
            try second.send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            return (held, try second.readResponse())
        }
        #expect(held == 200)
        #expect(answer.status == 503)
        #expect(answer.object["error"] as? String == "too_many_connections")
    }

    /// RFC 9110 §6.6.1: an origin server with a clock sends `Date` (audit: no answer had one). Every kind of
    /// answer: complete ones, errors from the router, from the HTTP parser and from the raw-byte guards, a file,
    /// a 304, a 412, and the head of an `/events` stream.
    @Test func everyAnswerCarriesADate() async throws {
        func check(_ headers: [(String, String)], _ what: String) {
            let date = headers.first { $0.0.lowercased() == "date" }?.1
            let now = Int64(time(nil))
            guard let date, let seconds = HTTPDate.parse(date) else {
                Issue.record("\(what): no IMF-fixdate Date header (\(date ?? "none"))")
                return
            }
            #expect(abs(seconds - now) <= 5, "\(what): \(date)")
            #expect(headers.filter { $0.0.lowercased() == "date" }.count == 1, "\(what)")
        }
        let (t, _) = try await ControlDeliveryTests.start()
        defer { Task { await t.stop() } }
        let content = ControlDeliveryTests.base + "/content"
        let etag = try #require(try await fetch(t.socket, "GET", content).header("etag"))
        let requests: [(String, String, [String: String], Int)] = [
            ("GET", "/health", [:], 200), ("HEAD", "/health", [:], 200), ("GET", "/nowhere", [:], 404),
            ("POST", "/health", [:], 405), ("GET", content, [:], 200), ("HEAD", content, [:], 200),
            ("GET", content, ["Range": "bytes=0-3"], 206), ("GET", content, ["If-None-Match": etag], 304),
            ("GET", content, ["If-Match": "\"nope\""], 412), ("GET", content, ["Range": "bytes=999999999-"], 416),
            ("DELETE", "/projects/demo/videos/none", [:], 404), ("POST", "/rescan", [:], 202),
        ]
        for (method, target, headers, status) in requests {
            let r: RawResponse
            if method == "HEAD" {
                r = try await fetchHead(t.socket, target, headers: headers)
            } else {
                r = try await fetch(t.socket, method, target, headers: headers)
            }
            #expect(r.status == status, "\(method) \(target) \(headers)")
            check(r.headers, "\(method) \(target) \(headers)")
        }
        let events = try await onThread { () -> (Int, [(String, String)]) in
            let c = try RawClient(path: t.socket)
            try c.send("GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
            return try c.readHead()
        }
        #expect(events.0 == 200)
        check(events.1, "GET /events")
        let malformed = try await onThread { () -> RawResponse in
            let c = try RawClient(path: t.socket)
            try c.send("GET /health HTTP/1.1\r\nHost x\r\n\r\n")
            return try c.readResponse()
        }
        #expect(malformed.status == 400)
        check(malformed.headers, "malformed request")
        let huge = try await onThread { () -> RawResponse in
            let c = try RawClient(path: t.socket)
            try? c.send("GET /" + String(repeating: "a", count: 200_000))
            return try c.readResponse()
        }
        #expect(huge.status == 431)
        check(huge.headers, "request head too large")

        let full = try await TestServer.start { $0.maxConnections = 1 }
        defer { Task { await full.stop() } }
        let refused = try await onThread { () -> RawResponse in
            let first = try RawClient(path: full.socket)
            _ = try first.request("GET", "/health")
            let second = try RawClient(path: full.socket)
            try second.send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            return try second.readResponse()
        }
        #expect(refused.status == 503)
        check(refused.headers, "over capacity")
    }

    /// A JSON body asking for a dry run was ignored and a real repair ran.
    @Test func repairReadsADryRunFromItsBodyAndRefusesABodyItDoesNotUnderstand() throws {
        #expect(try RepairRequestBody.dryRun(Array(#"{"dry_run": true}"#.utf8)))
        #expect(try !RepairRequestBody.dryRun(Array(#"{"dry_run": false}"#.utf8)))
        #expect(try !RepairRequestBody.dryRun([]))
        #expect(try !RepairRequestBody.dryRun(Array(" \n".utf8)))
        for bad in [#"{"dryrun": true}"#, "dry_run=1", #"{"dry_run": "yes"}"#, "[true]"] {
            #expect(throws: ControlAPIError.self, "\(bad)") { try RepairRequestBody.dryRun(Array(bad.utf8)) }
        }
    }

    /// A follower that shuts down its sending side after its request (`printf 'GET /events…' | nc -N`) still
    /// follows; one that closes altogether ends its subscription.
    @Test func aHalfClosedFollowerKeepsFollowingAndAClosedOneEnds() async throws {
        let t = try await TestServer.start()
        defer { Task { await t.stop() } }
        let lines = try await onThread { () -> [String] in
            let c = try RawClient(path: t.socket)
            try c.send("GET /%65vents?since=41 HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(shutdown(c.fd, Int32(SHUT_WR)) == 0)
            #expect(try c.readHead().0 == 200)
            var out: [String] = []
            while out.count < 2, let line = try c.readLine() {
                if line.hasPrefix("{") { out.append(line) }
                if out.count == 1 { _ = t.backend.emit("{\"id\":43,\"type\":\"ingested\"}\n") }
            }
            return out
        }
        #expect(lines == ["{\"id\":42,\"type\":\"replayed\"}", "{\"id\":43,\"type\":\"ingested\"}"])
        var ended = false
        for _ in 0..<100 where !ended {
            try await Task.sleep(for: .milliseconds(50))
            ended = t.backend.terminatedSubscriptions.withLock { $0 } == 1
        }
        #expect(ended)
    }
}
