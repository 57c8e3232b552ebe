import Crypto
import Foundation
import Synchronization
import Testing

@testable import IngestDaemon
@testable import StorageKit

#if canImport(Glibc)
import Glibc
#endif

/// A `HEAD` request on a fresh connection: the head only (the body a GET would have is never sent).
func fetchHead(_ socket: String, _ target: String, headers: [String: String] = [:]) async throws -> RawResponse {
    try await onThread {
        let c = try RawClient(path: socket)
        var text = "HEAD \(target) HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
        for (k, v) in headers { text += "\(k): \(v)\r\n" }
        try c.send(text + "\r\n")
        let (status, h) = try c.readHead()
        guard try c.isClosed() else { throw TestError("bytes followed the head of a HEAD answer") }
        return RawResponse(status: status, headers: h, body: [])
    }
}

/// The delivery routes against the fake backend: one asset with every kind of file on disk.
@Suite("Control server delivery", .serialized, .timeLimit(.minutes(4)))
struct ControlDeliveryTests {
    static let base = "/projects/demo/videos/d1"
    static let folder = "processed/project_demo/clip-0123456789"

    /// Each route, the file it serves (relative to the storage root) and its content type.
    static let routes: [(path: String, file: String, type: String)] = [
        ("/content", "uploads/project_demo/clip-0123456789.mp4", "video/mp4"),
        ("/thumbnail", "thumbnails/project_demo/clip-0123456789.jpg", "image/jpeg"),
        ("/renditions/720p", folder + "/720p.mp4", "video/mp4"),
        ("/renditions/360p", folder + "/360p.webm", "video/webm"),
        ("/sprite.jpg", folder + "/sprite.jpg", "image/jpeg"),
        ("/sprite.vtt", folder + "/sprite.vtt", "text/vtt"),
    ]

    /// Starts a server whose backend holds asset `d1` with every file written (distinct bytes per file).
    static func start(contentSize: Int = 100_000) async throws -> (TestServer, [String: [UInt8]]) {
        let t = try await TestServer.start()
        let root = t.backend.storageRoot
        // Written on a thread of its own: tests running alongside need the cooperative threads.
        let contents = try await onThread { () -> [String: [UInt8]] in
            var contents: [String: [UInt8]] = [:]
            for (index, route) in routes.enumerated() {
                let size = index == 0 ? contentSize : 1000 + index * 37
                var bytes = [UInt8](repeating: 0, count: size)
                for i in 0..<size { bytes[i] = UInt8(truncatingIfNeeded: i &* 31 &+ index &* 7 &+ i >> 8) }
                let path = root + "/" + route.file
                try FileManager.default.createDirectory(
                    atPath: (path as NSString).deletingLastPathComponent,
                    withIntermediateDirectories: true
                )
                try Data(bytes).write(to: URL(fileURLWithPath: path))
                contents[route.path] = bytes
            }
            return contents
        }
        let checksum = try await onThread { sha256Hex(contents["/content"]!) }
        let now = Date()
        var asset = Asset(
            id: "d1",
            projectID: "demo",
            filename: "clip-0123456789.mp4",
            originalFilename: "clip.mp4",
            relativePath: routes[0].file,
            checksum: checksum,
            sizeBytes: Int64(contentSize),
            mimeType: "video/mp4",
            status: .ready,
            createdAt: now,
            updatedAt: now
        )
        asset.thumbnailPath = routes[1].file
        asset.renditions = [
            Rendition(
                name: "720p",
                relativePath: routes[2].file,
                width: 1280,
                height: 720,
                videoCodec: "h264",
                audioCodec: "aac",
                sizeBytes: 1
            ),
            Rendition(
                name: "360p",
                relativePath: routes[3].file,
                width: 640,
                height: 360,
                videoCodec: "vp9",
                audioCodec: "opus",
                sizeBytes: 1
            ),
        ]
        asset.sprite = SpriteSheet(
            imagePath: routes[4].file,
            vttPath: routes[5].file,
            intervalSeconds: 1,
            count: 3,
            columns: 10,
            tileWidth: 160,
            tileHeight: 90
        )
        t.backend.assets.withLock { $0["d1"] = asset }
        return (t, contents)
    }

    @Test func everyRouteServesItsFileWithValidators() async throws {
        let (t, contents) = try await Self.start()
        defer { Task { await t.stop() } }
        for route in Self.routes {
            let bytes = contents[route.path]!
            let r = try await fetch(t.socket, "GET", Self.base + route.path)
            #expect(r.status == 200, "\(route.path)")
            #expect(r.body == bytes, "\(route.path)")
            #expect(r.header("content-type") == route.type, "\(route.path)")
            #expect(r.header("content-length") == String(bytes.count), "\(route.path)")
            #expect(r.header("accept-ranges") == "bytes", "\(route.path)")
            let etag = try #require(r.header("etag"), "\(route.path)")
            #expect(etag.hasPrefix("\"") && etag.hasSuffix("\"") && etag.count > 2)
            let lastModified = try #require(r.header("last-modified"))
            let mtime =
                try FileManager.default.attributesOfItem(atPath: t.backend.storageRoot + "/" + route.file)[
                    .modificationDate
                ] as! Date
            #expect(HTTPDate.parse(lastModified) == Int64(mtime.timeIntervalSince1970.rounded(.down)), "\(route.path)")

            // HEAD: the same head, no body.
            let head = try await onThread { () -> (Int, [(String, String)], Bool) in
                let c = try RawClient(path: t.socket)
                try c.send("HEAD \(Self.base + route.path) HTTP/1.1\r\nHost: x\r\n\r\n")
                let (status, headers) = try c.readHead()
                // The next answer on the connection must start right away: no body bytes in between.
                let next = try c.request("GET", "/health")
                return (status, headers, next.status == 200)
            }
            #expect(head.0 == 200 && head.2, "\(route.path)")
            #expect(head.1.first { $0.0.lowercased() == "content-length" }?.1 == String(bytes.count), "\(route.path)")
            #expect(head.1.first { $0.0.lowercased() == "etag" }?.1 == etag)
        }
        let content = try await fetch(t.socket, "GET", Self.base + "/content")
        #expect(content.header("etag") == "\"\(sha256Hex(contents["/content"]!))\"")
        #expect(content.header("content-disposition") == "inline; filename=\"clip.mp4\"; filename*=UTF-8''clip.mp4")
        // A rendition also answers to its file name.
        #expect(
            try await fetch(t.socket, "GET", Self.base + "/renditions/720p.mp4").body == contents["/renditions/720p"]!
        )
    }

    @Test func rangesOnEveryRoute() async throws {
        let (t, contents) = try await Self.start()
        defer { Task { await t.stop() } }
        for route in Self.routes {
            let bytes = contents[route.path]!
            let size = bytes.count
            let cases: [(String, Range<Int>)] = [
                ("bytes=0-9", 0..<10), ("bytes=100-", 100..<size), ("bytes=-7", size - 7..<size),
                ("bytes=5-\(size + 100)", 5..<size),
            ]
            for (range, slice) in cases {
                let r = try await fetch(t.socket, "GET", Self.base + route.path, headers: ["Range": range])
                #expect(r.status == 206, "\(route.path) \(range)")
                #expect(r.body == Array(bytes[slice]), "\(route.path) \(range)")
                #expect(r.header("content-range") == "bytes \(slice.lowerBound)-\(slice.upperBound - 1)/\(size)")
                #expect(r.header("content-length") == String(slice.count))
            }
            let past = try await fetch(t.socket, "GET", Self.base + route.path, headers: ["Range": "bytes=\(size)-"])
            #expect(past.status == 416, "\(route.path)")
            #expect(past.header("content-range") == "bytes */\(size)")
            #expect(past.object["error"] as? String == "range_not_satisfiable")
            let multi = try await fetch(t.socket, "GET", Self.base + route.path, headers: ["Range": "bytes=0-1,4-5"])
            #expect(multi.status == 200 && multi.body == bytes, "\(route.path)")
            // HEAD with a range answers as GET would, without the body.
            let head = try await onThread { () -> (Int, [(String, String)]) in
                let c = try RawClient(path: t.socket)
                try c.send(
                    "HEAD \(Self.base + route.path) HTTP/1.1\r\nHost: x\r\nRange: bytes=0-9\r\nConnection: close\r\n\r\n"
                )
                let h = try c.readHead()
                #expect(try c.isClosed())
                return h
            }
            #expect(head.0 == 206 && head.1.first { $0.0.lowercased() == "content-length" }?.1 == "10")
        }
    }

    @Test func conditionalRequestsOnEveryRoute() async throws {
        let (t, contents) = try await Self.start()
        defer { Task { await t.stop() } }
        for route in Self.routes {
            let first = try await fetch(t.socket, "GET", Self.base + route.path)
            let etag = try #require(first.header("etag"))
            let lastModified = try #require(first.header("last-modified"))
            for value in [etag, "W/" + etag, "\"nope\", " + etag, "*"] {
                let r = try await fetch(t.socket, "GET", Self.base + route.path, headers: ["If-None-Match": value])
                #expect(r.status == 304, "\(route.path) If-None-Match: \(value)")
                #expect(r.body.isEmpty && r.header("etag") == etag)
                #expect(r.header("content-length") == nil)
            }
            #expect(
                try await fetch(t.socket, "GET", Self.base + route.path, headers: ["If-None-Match": "\"nope\""]).status
                    == 200
            )
            #expect(
                try await fetch(t.socket, "GET", Self.base + route.path, headers: ["If-Modified-Since": lastModified])
                    .status == 304
            )
            let head304 = try await fetchHead(t.socket, Self.base + route.path, headers: ["If-None-Match": etag])
            #expect(head304.status == 304)
            // If-Range: a range only while the file is the same.
            let same = try await fetch(
                t.socket,
                "GET",
                Self.base + route.path,
                headers: ["Range": "bytes=0-3", "If-Range": etag]
            )
            #expect(same.status == 206 && same.body == Array(contents[route.path]!.prefix(4)))
            let changed = try await fetch(
                t.socket,
                "GET",
                Self.base + route.path,
                headers: ["Range": "bytes=0-3", "If-Range": "\"old\""]
            )
            #expect(changed.status == 200 && changed.body == contents[route.path]!)
        }
    }

    /// If-Match and If-Unmodified-Since (audit: both were ignored, `If-Match: "nope"` got 200): a false one is a
    /// 412 with the JSON error and the validators, on GET and HEAD, before If-None-Match and Range are looked at.
    @Test func preconditionsOnEveryRoute() async throws {
        let (t, contents) = try await Self.start()
        defer { Task { await t.stop() } }
        let longAgo = "Sat, 01 Jan 2000 00:00:00 GMT"
        for route in Self.routes {
            let path = Self.base + route.path
            let first = try await fetch(t.socket, "GET", path)
            let etag = try #require(first.header("etag"))
            let lastModified = try #require(first.header("last-modified"))
            for headers in [
                ["If-Match": "\"nope\""], ["If-Match": "W/" + etag], ["If-Unmodified-Since": longAgo],
                ["If-Match": "\"nope\"", "If-None-Match": etag], ["If-Match": "\"nope\"", "Range": "bytes=0-3"],
                ["If-Unmodified-Since": longAgo, "If-None-Match": etag],
            ] {
                let r = try await fetch(t.socket, "GET", path, headers: headers)
                #expect(r.status == 412, "\(route.path) \(headers)")
                #expect(r.header("etag") == etag && r.header("content-type") == "application/json")
                let body = try JSONSerialization.jsonObject(with: Data(r.body)) as? [String: String]
                #expect(body?["error"] == "precondition_failed", "\(route.path) \(headers)")
                #expect(body?["detail"]?.isEmpty == false)
                let head = try await fetchHead(t.socket, path, headers: headers)
                #expect(head.status == 412, "HEAD \(route.path) \(headers)")
            }
            for headers in [
                ["If-Match": etag], ["If-Match": "*"], ["If-Match": "\"nope\", " + etag],
                ["If-Unmodified-Since": lastModified], ["If-Unmodified-Since": "not a date"],
                ["If-Match": etag, "If-Unmodified-Since": longAgo],
            ] {
                let r = try await fetch(t.socket, "GET", path, headers: headers)
                #expect(r.status == 200 && r.body == contents[route.path]!, "\(route.path) \(headers)")
            }
            let ranged = try await fetch(t.socket, "GET", path, headers: ["If-Match": etag, "Range": "bytes=0-3"])
            #expect(ranged.status == 206 && ranged.body == Array(contents[route.path]!.prefix(4)))
            let notModified = try await fetch(t.socket, "GET", path, headers: ["If-Match": "*", "If-None-Match": etag])
            #expect(notModified.status == 304)
        }
    }

    @Test func derivedETagChangesWhenTheFileIsReplaced() async throws {
        let (t, _) = try await Self.start()
        defer { Task { await t.stop() } }
        let before = try await fetch(t.socket, "GET", Self.base + "/thumbnail")
        let path = t.backend.storageRoot + "/" + Self.routes[1].file
        // Replaced whole, as the daemon writes derived files: a temporary name, then rename.
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: path + ".tmp"))
        rename(path + ".tmp", path)
        let after = try await fetch(
            t.socket,
            "GET",
            Self.base + "/thumbnail",
            headers: ["If-None-Match": before.header("etag")!]
        )
        #expect(after.status == 200 && after.body == [1, 2, 3])
        #expect(after.header("etag") != before.header("etag"))
    }

    @Test func missingThingsAre404WithJSON() async throws {
        let (t, _) = try await Self.start()
        defer { Task { await t.stop() } }
        let missingAsset = try await fetch(t.socket, "GET", "/projects/demo/videos/nope/content")
        #expect(missingAsset.status == 404 && missingAsset.object["error"] as? String == "not_found")
        let otherProject = try await fetch(t.socket, "GET", "/projects/other/videos/d1/content")
        #expect(otherProject.status == 404)
        let noRendition = try await fetch(t.socket, "GET", Self.base + "/renditions/1080p")
        #expect(noRendition.status == 404)
        #expect((noRendition.object["detail"] as? String)?.contains("720p, 360p") == true)
        let head404 = try await fetchHead(t.socket, Self.base + "/renditions/1080p")
        #expect(head404.status == 404 && head404.header("content-type") == "application/json")
        // Records without the derived files yet.
        t.backend.assets.withLock {
            $0["d1"]!.thumbnailPath = nil
            $0["d1"]!.sprite = nil
            $0["d1"]!.renditions = []
        }
        for path in ["/thumbnail", "/sprite.jpg", "/sprite.vtt", "/renditions/720p"] {
            let r = try await fetch(t.socket, "GET", Self.base + path)
            #expect(r.status == 404 && r.object["error"] as? String == "not_found", "\(path)")
        }
        // The record names a file that is gone, or that was swapped for a symlink or a FIFO.
        let content = t.backend.storageRoot + "/" + Self.routes[0].file
        unlink(content)
        #expect(try await fetch(t.socket, "GET", Self.base + "/content").status == 404)
        symlink("/etc/passwd", content)
        let link = try await fetch(t.socket, "GET", Self.base + "/content")
        #expect(link.status == 404 && !link.text.contains("root:"))
        unlink(content)
        mkfifo(content, 0o644)
        #expect(try await fetch(t.socket, "GET", Self.base + "/content").status == 404)
        // A symlinked folder on the way is not followed either.
        let uploads = t.backend.storageRoot + "/uploads/project_demo"
        try FileManager.default.moveItem(atPath: uploads, toPath: uploads + "-real")
        symlink(uploads + "-real", uploads)
        #expect(try await fetch(t.socket, "GET", Self.base + "/content").status == 404)
        // Methods other than GET and HEAD.
        let delete = try await fetch(t.socket, "DELETE", Self.base + "/content")
        #expect(delete.status == 405 && delete.header("allow") == "GET, HEAD")
    }

    @Test func filesAreClosedAndKeepAliveContinues() async throws {
        let (t, contents) = try await Self.start()
        defer { Task { await t.stop() } }
        let root = t.backend.storageRoot
        @Sendable func openDescriptors() -> Int { Self.openDescriptors(below: root) }
        _ = try await fetch(t.socket, "GET", Self.base + "/content")
        let ok = try await onThread { () -> Bool in
            let c = try RawClient(path: t.socket)
            var good = true
            for i in 0..<50 {
                let r = try c.request(
                    "GET",
                    Self.base + (i % 2 == 0 ? "/content" : "/thumbnail"),
                    headers: ["Range": "bytes=1-"]
                )
                good =
                    good && r.status == 206
                    && r.body.count == contents[i % 2 == 0 ? "/content" : "/thumbnail"]!.count - 1
            }
            // Still connected: each file was closed once its answer was sent, not when the connection ends.
            for _ in 0..<500 where openDescriptors() > 0 { usleep(10_000) }
            return good && openDescriptors() == 0 && c.fd >= 0
        }
        #expect(ok)
        // Clients that hang up in the middle of a body do not leak descriptors either.
        try await onThread {
            for _ in 0..<10 {
                let c = try RawClient(path: t.socket)
                try c.send("GET \(Self.base)/content HTTP/1.1\r\nHost: x\r\n\r\n")
            }
        }
        try await waitUntil("every stored file is closed", timeout: .seconds(10)) { openDescriptors() == 0 }
    }

    /// Descriptors of this process open on files below `root` (other tests run alongside).
    static func openDescriptors(below root: String) -> Int {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        return names.count { name in
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/" + name))?.hasPrefix(root + "/")
                == true
        }
    }

    @Test func largeFileIsSentWholeBeforeConnectionClose() async throws {
        // 16 MiB: far more than the socket buffers, so a close right after the last write would cut it.
        // 8 MiB: far more than a Unix socket's buffers. The client hashes as it reads and keeps nothing, so the
        // memory tests running alongside in this process are not disturbed.
        let (t, _) = try await Self.start(contentSize: 8 << 20)
        defer { Task { await t.stop() } }
        for version in ["HTTP/1.0", "HTTP/1.1"] {
            // A slow reader keeps the socket full, so the server still holds bytes when its answer is written.
            let (status, digest, length) = try await onThread { () -> (String, String, Int) in
                let c = try RawClient(path: t.socket)
                try c.send("GET \(Self.base)/content \(version)\r\nHost: x\r\nConnection: close\r\n\r\n")
                var head: [UInt8] = []
                var hasher = SHA256()
                var length = 0
                var chunk = [UInt8](repeating: 0, count: 16384)
                while true {
                    let n = chunk.withUnsafeMutableBytes { recv(c.fd, $0.baseAddress, $0.count, 0) }
                    if n <= 0 { break }
                    var bytes = chunk[0..<n]
                    if head.suffix(4) != Array("\r\n\r\n".utf8) {
                        while let b = bytes.first, head.suffix(4) != Array("\r\n\r\n".utf8) {
                            head.append(b)
                            bytes = bytes.dropFirst()
                        }
                    }
                    hasher.update(data: bytes)
                    length += bytes.count
                    usleep(200)
                }
                let digest = hasher.finalize().map { String(format: "%02x", $0) }.joined()
                return (String(decoding: head.prefix(12), as: UTF8.self), digest, length)
            }
            #expect(status.hasSuffix(" 200") && length == 8 << 20, "\(version)")
            #expect(digest == t.backend.assets.withLock { $0["d1"]!.checksum })
        }
    }
}
