import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The thumbnail queue's source of truth is the catalog: what is missing at start-up is made, and a file
/// whose decoder killed the daemon twice is marked failed instead of starting a crash loop.
@Suite(.timeLimit(.minutes(4)))
struct ThumbnailEndToEndTests {
    @Test func restartRequeuesMissingThumbnailsAndStopsAfterTwoDecoderCrashes() async throws {
        let h = try DaemonHarness()
        defer { h.remove() }
        try await h.start()
        let clips = try await TestClips.distinctMP4s(2, into: h.root + "/clips")
        try h.drop(clips[0], as: "th/a.mp4")
        try h.drop(clips[1], as: "th/b.mp4")
        try await waitUntil("both thumbnails exist") {
            try await h.assets("th").filter { $0["thumbnail_path"] as? String != nil }.count == 2
        }
        let assets = try await h.assets("th")
        let a = try #require(assets.first { $0["original_filename"] as? String == "a.mp4" })
        let b = try #require(assets.first { $0["original_filename"] as? String == "b.mp4" })
        #expect(try await h.stop() == 0)

        // As a crash would leave them: a's thumbnail never written; b's decode started twice and never ended.
        let aThumb = try #require(a["thumbnail_path"] as? String)
        #expect(unlink(h.storage + "/" + aThumb) == 0)
        try Self.sql(
            h,
            "UPDATE assets SET thumbnail_path = NULL WHERE id IN ('\(a["id"]!)', '\(b["id"]!)');"
                + "INSERT INTO jobs (kind, asset_id, params, priority, state, attempts, lease_owner, lease_expires,"
                + " created_at, updated_at) VALUES ('thumbnail', '\(a["id"]!)', '', 0, 'queued', 0, NULL, NULL, 1, 1),"
                + " ('thumbnail', '\(b["id"]!)', '', 0, 'running', 2, 'gone', 0, 1, 1);"
        )

        try await h.start()
        try await waitUntil("a's thumbnail is made again and b is failed") {
            let now = try await h.assets("th")
            let a2 = now.first { $0["id"] as? String == a["id"] as? String }
            let b2 = now.first { $0["id"] as? String == b["id"] as? String }
            return a2?["thumbnail_path"] as? String != nil && b2?["status"] as? String == "failed"
        }
        #expect(FileManager.default.fileExists(atPath: h.storage + "/" + aThumb))
        let failed = try #require(try await h.assets("th").first { $0["id"] as? String == b["id"] as? String })
        #expect((failed["error"] as? String)?.contains("crashed twice") == true)
        #expect(failed["thumbnail_path"] is NSNull)
        let events = try await h.request("GET", "/events?since=0", maxTime: 2).text
        #expect(events.contains(#""type":"failed""#))
        #expect(try await h.stop() == 0)
    }

    @Test func aFileThatProbesButDoesNotDecodeIsFailedWithAReason() async throws {
        let h = try DaemonHarness()
        defer { h.remove() }
        try await h.start()
        // Valid boxes, index first, but the media payload is noise: it probes, it does not decode.
        var data = try Data(contentsOf: URL(fileURLWithPath: try await TestClips.faststartMP4))
        let mdat = try #require(data.range(of: Data("mdat".utf8)))
        var generator = SeededRandom(state: 0x2C_0FFE)  // the same noise on every run
        for i in mdat.upperBound..<data.count { data[i] = UInt8.random(in: 0...255, using: &generator) }
        try h.drop(bytes: [UInt8](data), as: "bad/noise.mp4")
        try await waitUntil("the asset is failed") { try await h.assets("bad").first?["status"] as? String == "failed" }
        let asset = try await h.assets("bad")[0]
        #expect((asset["error"] as? String)?.isEmpty == false)
        #expect(asset["thumbnail_path"] is NSNull)
        #expect(h.files(in: "storage/thumbnails").isEmpty)
        #expect(try await h.stop() == 0)
    }

    /// Runs SQL on the stopped daemon's catalog with Python's sqlite3 module.
    static func sql(_ h: DaemonHarness, _ statements: String) throws {
        let script = "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.executescript(sys.argv[2]); c.commit()"
        _ = try DaemonHarness.run(
            "/usr/bin/python3",
            ["-c", script, h.storage + "/metadata/catalog.sqlite", statements]
        )
    }
}
