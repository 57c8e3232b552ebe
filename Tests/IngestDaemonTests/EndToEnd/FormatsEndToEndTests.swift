import Foundation
import Testing

/// Issue 12 with the real daemon: with a wider `ALLOWED_EXTENSIONS`, clips of each container end `ready` with
/// the SPEC's MIME type, a thumbnail and their metadata; cover art alone is `no_video`; a cut Matroska file is
/// `truncated`; every detail names the file as the user did.
@Suite(.timeLimit(.minutes(3)))
struct FormatsEndToEndTests {
    /// name → (ffmpeg output options, MIME type); inputs are 1 s of 320×240 testsrc2 and a 48 kHz sine.
    static let clips: [(name: String, options: [String], mime: String)] = [
        (
            "a.mkv", ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac"],
            "video/x-matroska"
        ),
        ("b.webm", ["-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-c:a", "libopus"], "video/webm"),
        ("c.m4v", ["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-f", "mp4"], "video/x-m4v"),
        (
            "d.mts",
            ["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-f", "mpegts", "-mpegts_m2ts_mode", "1"],
            "video/mp2t"
        ),
        ("e.ts", ["-c:v", "mpeg2video", "-c:a", "mp2", "-f", "mpegts"], "video/mp2t"),
        ("f.mpg", ["-c:v", "mpeg1video", "-c:a", "mp2", "-f", "mpeg"], "video/mpeg"),
        (
            "g.3gp", ["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-ar", "16000", "-f", "3gp"],
            "video/3gpp"
        ),
        ("h.flv", ["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac"], "video/x-flv"),
        ("i.wmv", ["-c:v", "wmv2", "-c:a", "wmav2"], "video/x-ms-wmv"),
    ]

    static func make(_ name: String, _ options: [String], in folder: String) throws -> String {
        let path = folder + "/" + name
        _ = try DaemonHarness.run(
            "/usr/bin/ffmpeg",
            [
                "-nostdin", "-y", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=1",
                "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=1",
            ] + options + ["-shortest", path]
        )
        return path
    }

    @Test func everyAllowedContainerBecomesReadyWithItsMimeType() async throws {
        let h = try DaemonHarness(environment: [
            "ALLOWED_EXTENSIONS": "mp4,mov,avi,mkv,webm,m4v,3gp,mts,m2ts,ts,mpg,flv,wmv"
        ])
        defer { h.remove() }
        let folder = h.root + "/clips"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let made = try Self.clips.map { try Self.make($0.name, $0.options, in: folder) }
        // Audio with a cover picture, and a Matroska file cut short.
        let cover = try Self.make(
            "song.mp4",
            [
                "-map", "1:a", "-map", "0:v", "-frames:v", "1", "-c:v", "png", "-disposition:v", "attached_pic",
                "-c:a", "aac",
            ],
            in: folder
        )
        let whole = try Data(contentsOf: URL(fileURLWithPath: made[0]))
        try await h.start()
        for (clip, path) in zip(Self.clips, made) { try h.drop(path, as: "fmt/" + clip.name) }
        try h.drop(cover, as: "fmt/album/song.mp4")
        try h.drop(bytes: [UInt8](whole.prefix(whole.count * 6 / 10)), as: "fmt/cut.mkv")

        try await waitUntil("every clip is ready with a thumbnail", timeout: .seconds(90)) {
            try await h.assets("fmt").filter { $0["status"] as? String == "ready" && $0["thumbnail_path"] is String }
                .count
                == Self.clips.count
        }
        let assets = try await h.assets("fmt")
        for clip in Self.clips {
            let asset = try #require(assets.first { $0["original_filename"] as? String == clip.name }, "\(clip.name)")
            #expect(asset["mime_type"] as? String == clip.mime, "\(clip.name)")
            let metadata = try #require(asset["metadata"] as? [String: Any])
            #expect(metadata["width"] as? Int == 320, "\(clip.name)")
            #expect(metadata["pixel_format"] is String, "\(clip.name)")
        }
        try await waitUntil("cover art and the cut file are rejected") {
            h.rejectionReason(project: "fmt", name: "song.mp4") != nil
                && h.rejectionReason(project: "fmt", name: "cut.mkv") != nil
        }
        #expect(h.rejectionReason(project: "fmt", name: "song.mp4") == "no_video")
        #expect(h.rejectionReason(project: "fmt", name: "cut.mkv") == "truncated")
        let rejected = try await h.request("GET", "/projects/fmt/rejected").text
        #expect(rejected.contains("fmt/album/song.mp4 has no video stream"), "\(rejected)")
        #expect(rejected.contains("bytes are missing"), "\(rejected)")
        #expect(!rejected.contains(".staging") && !rejected.contains(h.storage), "\(rejected)")
        let events = try await h.request("GET", "/events?since=0", maxTime: 2).text
        #expect(!events.contains(".staging") && !events.contains(h.storage))
        #expect(try await h.stop() == 0)
    }
}
