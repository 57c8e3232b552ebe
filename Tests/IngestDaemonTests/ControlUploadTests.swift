import Crypto
import Foundation
import NIOCore
import StorageKit
import Synchronization
import Testing

@testable import IngestDaemon

#if canImport(Glibc)
import Glibc
#endif

@Suite("Control uploads", .serialized, .timeLimit(.minutes(3)))
struct ControlUploadTests {
    /// Deterministic pseudo-random bytes.
    static func payload(_ count: Int, seed: UInt64 = 7) -> [UInt8] {
        var x = seed
        return (0..<count).map { _ in
            x = x &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: x >> 33)
        }
    }

    @Test func rawUploadStoresWithTheRealChecksum() async throws {
        let t = try await TestServer.start()
        defer { Task { await t.stop() } }
        let body = Self.payload(3_000_123)
        let r = try await fetch(
            t.socket,
            "POST",
            "/projects/demo/videos?filename=..%2F..%2Fetc%2FMy%20Clip.MP4",
            body: body,
            headers: ["Content-Type": "application/octet-stream"]
        )
        #expect(r.status == 201)
        let expected = sha256Hex(body)
        #expect(r.object["checksum"] as? String == expected)
        #expect(r.header("location") == "/projects/demo/videos/up3000123")
        let upload = try #require(t.backend.uploads.withLock { $0.first })
        #expect(upload.fileSHA256 == expected)
        #expect(upload.size == Int64(body.count))
        #expect(upload.originalFilename == "My Clip.MP4")
        #expect(t.stagedFiles().isEmpty)
    }

    @Test func expectContinueIsAnswered() async throws {
        let t = try await TestServer.start()
        defer { Task { await t.stop() } }
        let status = try await onThread { () -> Int in
            let c = try RawClient(path: t.socket)
            try c.send(
                "POST /projects/demo/videos?filename=a.mp4 HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n"
            )
            guard try c.readLine() == "HTTP/1.1 100 Continue" else { return -1 }
            _ = try c.readLine()
            try c.send("abcd")
            return try c.readResponse().status
        }
        #expect(status == 201)
    }

    /// A client that sends its whole body without waiting (no `Expect: 100-continue`) still reads the refusal:
    /// the server reads on and throws away what is still coming before it closes, instead of cutting the
    /// client off with a broken pipe.
    @Test func aRefusedUploadsBodyIsReadBeforeTheConnectionCloses() async throws {
        let t = try await TestServer.start()
        defer { Task { await t.stop() } }
        let size = 4 << 20
        let answer = try await onThread { () -> (Int, String?) in
            let c = try RawClient(path: t.socket)
            try c.send(
                "POST /projects/demo/videos?filename=talk.mkv HTTP/1.1\r\nHost: x\r\nContent-Length: \(size)\r\n\r\n"
            )
            // Far more than a Unix socket buffers: these writes fail with EPIPE if the server has closed.
            let chunk = [UInt8](repeating: 7, count: 64 << 10)
            for _ in 0..<(size / chunk.count) { try c.send(chunk) }
            let r = try c.readResponse()
            return (r.status, r.object["error"] as? String)
        }
        #expect(answer.0 == 415 && answer.1 == "extension_not_allowed")
    }

    @Test func refusalsBeforeTheBody() async throws {
        let t = try await TestServer.start(maxSize: 1000)
        defer { Task { await t.stop() } }
        // 413 from Content-Length alone: the body is never sent.
        let big = try await onThread { () -> (Int, String?) in
            let c = try RawClient(path: t.socket)
            try c.send("POST /projects/demo/videos?filename=a.mp4 HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n")
            let r = try c.readResponse()
            return (r.status, r.object["error"] as? String)
        }
        #expect(big.0 == 413 && big.1 == "too_large")
        let ext = try await fetch(t.socket, "POST", "/projects/demo/videos?filename=notes.txt", body: [1, 2, 3])
        #expect(ext.status == 415 && ext.object["error"] as? String == "extension_not_allowed")
        // The detail speaks of the name as given, not as sanitized (`..mp4` is `__mp4` on disk).
        let dots = try await fetch(t.socket, "POST", "/projects/demo/videos?filename=..mp4", body: [1])
        #expect(dots.status == 415)
        #expect((dots.object["detail"] as? String)?.hasPrefix("\"..mp4\" has no extension") == true)
        #expect(try await fetch(t.socket, "POST", "/projects/demo/videos?filename=clip.AVI", body: [1]).status == 201)
        #expect(try await fetch(t.socket, "POST", "/projects/demo/videos?filename=x.mov", body: [1]).status == 201)
        let missing = try await fetch(t.socket, "POST", "/projects/demo/videos", body: [1, 2, 3])
        #expect(missing.status == 400 && missing.object["error"] as? String == "missing_filename")
        #expect(try await fetch(t.socket, "POST", "/projects/demo/videos?filename=..", body: [1]).status == 400)
        #expect(try await fetch(t.socket, "POST", "/projects/bad!id/videos?filename=a.mp4", body: [1]).status == 400)
        #expect(t.stagedFiles().isEmpty)
    }

    @Test func streamedBodyPastTheLimitGets413AndLeavesNothing() async throws {
        let t = try await TestServer.start(maxSize: 100_000, configure: { $0.uploadFlushBytes = 16_384 })
        defer { Task { await t.stop() } }
        let status = try await onThread { () -> Int in
            let c = try RawClient(path: t.socket)
            try c.send(
                "POST /projects/demo/videos?filename=a.mp4 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
            )
            let chunk = [UInt8](repeating: 7, count: 30_000)
            for _ in 0..<10 {
                do { try c.send(Array("7530\r\n".utf8) + chunk + Array("\r\n".utf8)) } catch { break }
            }
            return try c.readResponse().status
        }
        #expect(status == 413)
        #expect(t.backend.uploads.withLock { $0.isEmpty })
        #expect(t.stagedFiles().isEmpty)
    }

    @Test func multipartUploadTakesTheFilePart() async throws {
        let t = try await TestServer.start()
        defer { Task { await t.stop() } }
        let content =
            Self.payload(200_000, seed: 3) + Array("\r\n--not-the-boundary\r\n".utf8) + Self.payload(5000, seed: 4)
        let boundary = "----ingestdBoundary7MA4YWxk"
        var body = Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n".utf8)
        body += Array(
            "--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"C:\\\\Users\\\\me\\\\holiday clip.mp4\"\r\nContent-Type: video/mp4\r\n\r\n"
                .utf8
        )
        body += content
        body += Array("\r\n--\(boundary)--\r\n".utf8)
        let r = try await fetch(
            t.socket,
            "POST",
            "/projects/demo/videos",
            body: body,
            headers: ["Content-Type": "multipart/form-data; boundary=\(boundary)"]
        )
        #expect(r.status == 201)
        let upload = try #require(t.backend.uploads.withLock { $0.first })
        #expect(upload.originalFilename == "holiday clip.mp4")
        #expect(upload.size == Int64(content.count))
        #expect(upload.sha256 == sha256Hex(content))
        #expect(upload.fileSHA256 == upload.sha256)

        let noFile = Array(
            "--\(boundary)\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\nv\r\n--\(boundary)--\r\n".utf8
        )
        #expect(
            try await fetch(
                t.socket,
                "POST",
                "/projects/demo/videos",
                body: noFile,
                headers: ["Content-Type": "multipart/form-data; boundary=\(boundary)"]
            ).status == 400
        )
        let truncated = Array(
            "--\(boundary)\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.mp4\"\r\n\r\nabc".utf8
        )
        #expect(
            try await fetch(
                t.socket,
                "POST",
                "/projects/demo/videos",
                body: truncated,
                headers: ["Content-Type": "multipart/form-data; boundary=\(boundary)"]
            ).status == 400
        )
        let badExt = Array(
            "--\(boundary)\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.exe\"\r\n\r\nabc\r\n--\(boundary)--\r\n"
                .utf8
        )
        #expect(
            try await fetch(
                t.socket,
                "POST",
                "/projects/demo/videos",
                body: badExt,
                headers: ["Content-Type": "multipart/form-data; boundary=\(boundary)"]
            ).status == 415
        )
        #expect(
            try await fetch(
                t.socket,
                "POST",
                "/projects/demo/videos",
                body: [1],
                headers: ["Content-Type": "multipart/form-data"]
            ).status == 400
        )
        #expect(t.stagedFiles().isEmpty)
    }

    @Test func multipartParserSplitsAnywhere() throws {
        let boundary = "b0undary"
        let content = Self.payload(5000, seed: 9)
        let body =
            Array(
                "preamble\r\n--\(boundary)\r\nContent-Disposition: form-data; name=\"f\"; filename*=UTF-8''na%C3%AFve.mp4\r\n\r\n"
                    .utf8
            )
            + content + Array("\r\n--\(boundary)--\r\nepilogue".utf8)
        for step in [1, 2, 3, 7, 64, 1000, body.count] {
            var parser = MultipartStreamParser(boundary: boundary)
            var data: [UInt8] = []
            var name: String? = nil
            var i = 0
            while i < body.count {
                let end = min(body.count, i + step)
                for event in try parser.feed(ByteBuffer(bytes: body[i..<end])) {
                    switch event {
                    case .partBegin(let h): name = MultipartStreamParser.filename(fromPartHeaders: h)
                    case .partData(let b): data += b.readableBytesView
                    case .partEnd: break
                    }
                }
                i = end
            }
            try parser.finish()
            #expect(name == "naïve.mp4", "step \(step)")
            #expect(data == content, "step \(step)")
        }
    }

    @Test func rejectedUploadMapsToAStatus() async throws {
        let t = try await TestServer.start()
        defer { Task { await t.stop() } }
        t.backend.uploadRejection.withLock { $0 = (.duplicate, "same bytes as asset a1") }
        let dup = try await fetch(t.socket, "POST", "/projects/demo/videos?filename=a.mp4", body: [1, 2])
        #expect(dup.status == 409 && dup.object["error"] as? String == "duplicate")
        t.backend.uploadRejection.withLock { $0 = (.notMedia, "not a video") }
        #expect(try await fetch(t.socket, "POST", "/projects/demo/videos?filename=a.mp4", body: [1, 2]).status == 422)
        #expect(t.stagedFiles().isEmpty)
    }

    @Test func largeUploadDoesNotGrowMemory() async throws {
        let size = 300 * 1024 * 1024
        let t = try await TestServer.start(maxSize: Int64(size))
        defer { Task { await t.stop() } }
        let before = residentBytes()
        let peak = Mutex(before)
        let sampling = Mutex(true)
        let sampler = Thread {
            while sampling.withLock({ $0 }) {
                let now = residentBytes()
                peak.withLock { $0 = max($0, now) }
                usleep(20_000)
            }
        }
        sampler.start()
        let (status, checksum, expected) = try await onThread { () -> (Int, String?, String) in
            let c = try RawClient(path: t.socket)
            try c.send(
                "POST /projects/demo/videos?filename=big.mp4 HTTP/1.1\r\nHost: x\r\nContent-Length: \(size)\r\n\r\n"
            )
            var hasher = SHA256Hasher()
            var chunk = ControlUploadTests.payload(1 << 20, seed: 11)
            for i in 0..<(size >> 20) {
                chunk[0] = UInt8(truncatingIfNeeded: i)
                hasher.update(chunk)
                try c.send(chunk)
            }
            let r = try c.readResponse()
            return (r.status, r.object["checksum"] as? String, hasher.hex())
        }
        sampling.withLock { $0 = false }
        #expect(status == 201)
        #expect(checksum == expected)
        #expect(t.backend.uploads.withLock { $0.first?.fileSHA256 } == expected)
        let growth = peak.withLock { $0 } - before
        #expect(growth < 64 << 20, "RSS grew by \(growth >> 20) MiB during a 300 MiB upload")
        #expect(t.stagedFiles().isEmpty)
    }
}

/// Incremental SHA-256 for the client side of tests.
struct SHA256Hasher {
    private var h = SHA256()
    mutating func update(_ bytes: [UInt8]) { h.update(data: bytes) }
    func hex() -> String { h.finalize().map { String(format: "%02x", $0) }.joined() }
}

@Suite("Control uploads cut short", .serialized, .timeLimit(.minutes(3)))
struct ControlUploadCutShortTests {
    @Test func clientLeavingMidBodyStoresNothing() async throws {
        let t = try await TestServer.start()
        defer { Task { await t.stop() } }
        try await onThread {
            let c = try RawClient(path: t.socket)
            try c.send(
                "POST /projects/demo/videos?filename=a.mp4 HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n"
            )
            try c.send([UInt8](repeating: 1, count: 50_000))
        }  // the client is released: its socket closes mid-body
        try await Task.sleep(for: .milliseconds(300))
        #expect(t.backend.uploads.withLock { $0.isEmpty })
        #expect(t.stagedFiles().isEmpty)
        #expect(try await fetch(t.socket, "GET", "/health").status == 200)
    }
}
