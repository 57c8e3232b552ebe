import Foundation
import Testing

#if canImport(Glibc)
import Glibc
import TestSupport
#endif

/// The delivery routes, `GET /projects` and `ingestctl download`/`projects` of the real daemon, checked against
/// the stored files.
@Suite(.timeLimit(.minutes(4)))
struct DeliveryEndToEndTests {
    /// One request through curl: status, headers (lower-cased names) and body.
    struct Answer {
        var status: Int
        var headers: [String: String]
        var body: [UInt8]
    }

    /// `curlSync` on its own thread: the test does not hold one of the few cooperative threads the servers of
    /// other tests need.
    static func curl(
        _ h: DaemonHarness,
        _ path: String,
        method: String = "GET",
        headers: [String: String] = [:]
    ) async throws -> Answer {
        try await onThread { try curlSync(h, path, method: method, headers: headers) }
    }

    static func curlSync(
        _ h: DaemonHarness,
        _ path: String,
        method: String = "GET",
        headers: [String: String] = [:]
    ) throws -> Answer {
        let headFile = h.root + "/curl-head-\(UUID().uuidString)"
        let bodyFile = h.root + "/curl-body-\(UUID().uuidString)"
        defer {
            unlink(headFile)
            unlink(bodyFile)
        }
        var args = ["-s", "-S", "--max-time", "20", "--unix-socket", h.socket, "-D", headFile, "-o", bodyFile]
        args += method == "HEAD" ? ["-I"] : ["-X", method]
        for (k, v) in headers { args += ["-H", "\(k): \(v)"] }
        _ = try DaemonHarness.run("/usr/bin/curl", args + ["http://localhost" + path])
        let head = (try? String(contentsOfFile: headFile, encoding: .utf8)) ?? ""
        var lines = head.components(separatedBy: "\r\n").filter { !$0.isEmpty }
        guard let statusLine = lines.first, let status = Int(statusLine.split(separator: " ")[1]) else {
            throw DaemonHarness.Failure(description: "no answer from curl for \(path)")
        }
        lines.removeFirst()
        var out: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            out[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let body = FileManager.default.contents(atPath: bodyFile).map { [UInt8]($0) } ?? []
        return Answer(status: status, headers: out, body: body)
    }

    static func ctl(_ h: DaemonHarness, _ args: [String], in directory: String) async throws -> Int32 {
        try await Program.run(
            DaemonHarness.ingestctl,
            ["--socket", h.socket] + args,
            directory: directory,
            timeout: .seconds(60)
        )
        .status
    }

    @Test func droppedClipIsServedWithRangesValidatorsAndDownloads() async throws {
        let h = try DaemonHarness()
        defer { h.remove() }
        try await h.start()
        let clip = try await TestClips.mp4
        try h.drop(clip, as: "web/talk.mp4")
        try h.drop(bytes: Array("not a video".utf8), as: "web/notes.txt")
        try await waitUntil("the clip has its thumbnail") {
            try await h.assets("web").first?["thumbnail_path"] as? String != nil
        }
        try await waitUntil("the text file is rejected") { h.rejectionReason(project: "web", name: "notes.txt") != nil }
        let record = try await h.assets("web")[0]
        let id = try #require(record["id"] as? String)
        let stored = [UInt8](
            try Data(contentsOf: URL(fileURLWithPath: h.storage + "/" + (record["relative_path"] as! String)))
        )
        let base = "/projects/web/videos/\(id)"

        // GET /projects.
        let projects = try await h.request("GET", "/projects").array()
        #expect(projects.count == 1)
        #expect(projects.first?["project_id"] as? String == "web" && projects.first?["assets"] as? Int == 1)
        #expect(projects.first?["bytes"] as? Int == stored.count && projects.first?["rejected"] as? Int == 1)

        // The stored file, whole and in parts.
        let whole = try await Self.curl(h, base + "/content")
        #expect(whole.status == 200 && whole.body == stored)
        #expect(whole.headers["content-type"] == "video/mp4" && whole.headers["accept-ranges"] == "bytes")
        #expect(whole.headers["etag"] == "\"\(record["checksum"] as! String)\"")
        let lastModified = try #require(whole.headers["last-modified"])
        #expect(lastModified.hasSuffix(" GMT"))
        let part = try await Self.curl(h, base + "/content", headers: ["Range": "bytes=100-199"])
        #expect(part.status == 206 && part.body == Array(stored[100..<200]))
        #expect(part.headers["content-range"] == "bytes 100-199/\(stored.count)")
        let tail = try await Self.curl(h, base + "/content", headers: ["Range": "bytes=-50"])
        #expect(tail.status == 206 && tail.body == Array(stored.suffix(50)))
        let beyond = try await Self.curl(h, base + "/content", headers: ["Range": "bytes=\(stored.count)-"])
        #expect(beyond.status == 416 && beyond.headers["content-range"] == "bytes */\(stored.count)")
        let cached = try await Self.curl(h, base + "/content", headers: ["If-None-Match": whole.headers["etag"]!])
        #expect(cached.status == 304 && cached.body.isEmpty)
        #expect(try await Self.curl(h, base + "/content", headers: ["If-Modified-Since": lastModified]).status == 304)
        let head = try await Self.curl(h, base + "/content", method: "HEAD")
        #expect(head.status == 200 && head.headers["content-length"] == String(stored.count))

        // The thumbnail; renditions and sprites answer 404 until they exist.
        let thumb = try await Self.curl(h, base + "/thumbnail")
        #expect(thumb.status == 200 && thumb.headers["content-type"] == "image/jpeg")
        #expect(thumb.body.prefix(2) == [0xFF, 0xD8])
        let thumbTag = try #require(thumb.headers["etag"])
        #expect(try await Self.curl(h, base + "/thumbnail", headers: ["If-None-Match": thumbTag]).status == 304)
        #expect(
            try await Self.curl(h, base + "/thumbnail", headers: ["Range": "bytes=0-9"]).body
                == Array(thumb.body.prefix(10))
        )
        let unknown = try await Self.curl(h, base + "/renditions/4320p")
        #expect(unknown.status == 404 && unknown.headers["content-type"] == "application/json")
        #expect(try await Self.curl(h, "/projects/web/videos/nope/content").status == 404)

        // ingestctl download: equal bytes, and a cut download resumed.
        let out = h.root + "/downloads"
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        #expect(try await Self.ctl(h, ["download", "web", id], in: out) == 0)
        #expect([UInt8](try Data(contentsOf: URL(fileURLWithPath: out + "/talk.mp4"))) == stored)
        try Data(stored.prefix(stored.count / 3)).write(to: URL(fileURLWithPath: out + "/again.mp4.part"))
        try Data((whole.headers["etag"]! + "\n").utf8).write(to: URL(fileURLWithPath: out + "/again.mp4.part.etag"))
        #expect(try await Self.ctl(h, ["download", "web", id, "-o", "again.mp4"], in: out) == 0)
        #expect([UInt8](try Data(contentsOf: URL(fileURLWithPath: out + "/again.mp4"))) == stored)
        #expect(!FileManager.default.fileExists(atPath: out + "/again.mp4.part"))
        #expect(try await Self.ctl(h, ["download", "web", "nope"], in: out) == 1)
        #expect(try await Self.ctl(h, ["projects"], in: out) == 0)
        #expect(try await h.stop() == 0)
    }

    @Test func renditionAndSpriteRoutesServeTheMadeFiles() async throws {
        let h = try DaemonHarness(environment: ["RENDITIONS": "240p", "SPRITE_INTERVAL": "auto"])
        defer { h.remove() }
        try await h.start()
        try h.drop(try await TestClips.mp4, as: "web/talk.mp4")
        try await waitUntil("the rendition and the sprite exist", timeout: .seconds(90)) {
            guard let asset = try await h.assets("web").first else { return false }
            return (asset["renditions"] as? [[String: Any]])?.isEmpty == false
                && asset["sprite"] as? [String: Any] != nil
        }
        let asset = try await h.assets("web")[0]
        let id = try #require(asset["id"] as? String)
        let rendition = try #require((asset["renditions"] as? [[String: Any]])?.first)
        let sprite = try #require(asset["sprite"] as? [String: Any])
        let name = try #require(rendition["name"] as? String)
        let routes: [(String, String, String)] = [
            ("/renditions/\(name)", try #require(rendition["relative_path"] as? String), "video/mp4"),
            ("/sprite.jpg", try #require(sprite["image_path"] as? String), "image/jpeg"),
            ("/sprite.vtt", try #require(sprite["vtt_path"] as? String), "text/vtt"),
        ]
        for (route, relative, type) in routes {
            let path = "/projects/web/videos/\(id)" + route
            let stored = [UInt8](try Data(contentsOf: URL(fileURLWithPath: h.storage + "/" + relative)))
            let whole = try await Self.curl(h, path)
            #expect(whole.status == 200 && whole.body == stored, "\(route)")
            #expect(whole.headers["content-type"] == type && whole.headers["accept-ranges"] == "bytes", "\(route)")
            let etag = try #require(whole.headers["etag"], "\(route)")
            let part = try await Self.curl(h, path, headers: ["Range": "bytes=1-10"])
            #expect(part.status == 206 && part.body == Array(stored[1...10]), "\(route)")
            #expect(part.headers["content-range"] == "bytes 1-10/\(stored.count)")
            let beyond = try await Self.curl(h, path, headers: ["Range": "bytes=\(stored.count)-"])
            #expect(beyond.status == 416 && beyond.headers["content-range"] == "bytes */\(stored.count)", "\(route)")
            #expect(try await Self.curl(h, path, headers: ["If-None-Match": etag]).status == 304, "\(route)")
            let head = try await Self.curl(h, path, method: "HEAD")
            #expect(head.status == 200 && head.headers["content-length"] == String(stored.count), "\(route)")
        }
        let vtt = try await Self.curl(h, "/projects/web/videos/\(id)/sprite.vtt")
        #expect(String(decoding: vtt.body, as: UTF8.self).hasPrefix("WEBVTT"))
        // ingestctl fetches a rendition under <name>-<rendition>.<ext>.
        let out = h.root + "/downloads"
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        #expect(try await Self.ctl(h, ["download", "web", id, "--rendition", name], in: out) == 0)
        let saved = out + "/talk-\(name).mp4"
        #expect(
            try Data(contentsOf: URL(fileURLWithPath: saved))
                == Data(contentsOf: URL(fileURLWithPath: h.storage + "/" + routes[0].1))
        )
        #expect(try await h.stop() == 0)
    }
}
