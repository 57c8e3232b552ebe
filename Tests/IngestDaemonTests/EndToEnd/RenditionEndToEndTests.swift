import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Renditions and sprite sheets made by the running daemon after the thumbnail, checked with ffprobe.
@Suite(.serialized, .timeLimit(.minutes(4)))
struct RenditionEndToEndTests {
    /// The asset once its renditions (at least `renditions`) and its sprite (unless `sprite` is false) exist.
    static func waitForDerived(
        _ h: DaemonHarness,
        project: String,
        renditions: Int = 1,
        sprite: Bool = true,
        timeout: Duration = .seconds(90)
    ) async throws -> [String: Any] {
        try await waitUntil("renditions and the sprite exist", timeout: timeout) {
            guard let asset = try await h.assets(project).first else { return false }
            let made = (asset["renditions"] as? [[String: Any]])?.count ?? 0
            return made >= renditions && (!sprite || asset["sprite"] as? [String: Any] != nil)
        }
        return try await h.assets(project)[0]
    }

    static func probe(_ file: String) throws -> [String: Any] {
        let out = try DaemonHarness.run(
            "/usr/bin/ffprobe",
            ["-v", "error", "-show_streams", "-show_format", "-of", "json", file]
        )
        return try JSONSerialization.jsonObject(with: Data(out)) as? [String: Any] ?? [:]
    }

    static func stream(_ report: [String: Any], _ type: String) -> [String: Any]? {
        (report["streams"] as? [[String: Any]])?.first { $0["codec_type"] as? String == type }
    }

    @Test func a720pClipGetsA720pMP4AndASpriteThatAgreeWithTheRecord() async throws {
        let h = try DaemonHarness(environment: ["RENDITIONS": "1080p,720p,360p", "SPRITE_INTERVAL": "auto"])
        defer { h.remove() }
        try await h.start()
        try h.drop(try await TestClips.movWithAudio, as: "web/lesson.mov")
        let asset = try await Self.waitForDerived(h, project: "web", renditions: 2)
        let renditions = try #require(asset["renditions"] as? [[String: Any]])
        #expect(renditions.map { $0["name"] as? String } == ["720p", "360p"])
        let r720 = renditions[0]
        #expect(r720["width"] as? Int == 1280 && r720["height"] as? Int == 720)
        #expect(r720["video_codec"] as? String == "h264" && r720["audio_codec"] as? String == "aac")
        let path = h.storage + "/" + (try #require(r720["relative_path"] as? String))
        #expect((r720["relative_path"] as? String)?.hasSuffix("/720p.mp4") == true)
        #expect(r720["size_bytes"] as? Int == (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int))
        let report = try Self.probe(path)
        #expect(Self.stream(report, "video")?["codec_name"] as? String == "h264")
        #expect(Self.stream(report, "video")?["width"] as? Int == 1280)
        #expect(Self.stream(report, "audio")?["codec_name"] as? String == "aac")
        let duration = Double((report["format"] as? [String: Any])?["duration"] as? String ?? "") ?? 0
        #expect(abs(duration - 1) < 0.15, "duration \(duration)")
        // moov before mdat: the first top-level boxes.
        let head = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)).prefix(4096))
        let text = String(decoding: head.map { $0 >= 0x20 && $0 < 0x7F ? $0 : 0x2E }, as: UTF8.self)
        let moov = try #require(text.range(of: "moov"))
        #expect(text.range(of: "mdat").map { moov.lowerBound < $0.lowerBound } ?? true)

        let sprite = try #require(asset["sprite"] as? [String: Any])
        let count = try #require(sprite["count"] as? Int)
        let columns = try #require(sprite["columns"] as? Int)
        let tileWidth = try #require(sprite["tile_width"] as? Int)
        let tileHeight = try #require(sprite["tile_height"] as? Int)
        #expect(count == 2 && tileWidth == 160 && tileHeight == 90)
        let image = h.storage + "/" + (try #require(sprite["image_path"] as? String))
        let imageReport = try Self.probe(image)
        #expect(Self.stream(imageReport, "video")?["width"] as? Int == columns * tileWidth)
        #expect(Self.stream(imageReport, "video")?["height"] as? Int == (count + columns - 1) / columns * tileHeight)
        let vtt = try String(
            contentsOfFile: h.storage + "/" + (try #require(sprite["vtt_path"] as? String)),
            encoding: .utf8
        )
        #expect(vtt.hasPrefix("WEBVTT"))
        #expect(vtt.components(separatedBy: "sprite.jpg#xywh=").count - 1 == count)
        #expect(vtt.contains("sprite.jpg#xywh=160,0,160,90"))

        let events = try await h.request("GET", "/events?since=0", maxTime: 2).text
        #expect(events.contains(#""type":"rendition_ready""#) && events.contains(#""rendition":"720p""#))
        #expect(events.contains(#""type":"sprite_ready""#))
        let health = try await h.request("GET", "/health").object()
        #expect((health["queues"] as? [String: Any])?["renditions"] as? Int == 0)
        let metrics = try await h.request("GET", "/metrics").text
        #expect(metrics.contains(#"ingestd_stage_duration_seconds_count{stage="rendition"}"#))
        #expect(metrics.contains("ingestd_frames_encoded_total 50"))

        // Deleting the asset takes its processed folder with it.
        let folder = (path as NSString).deletingLastPathComponent
        let id = try #require(asset["id"] as? String)
        #expect(try await h.request("DELETE", "/projects/web/videos/\(id)").status == 204)
        #expect(!FileManager.default.fileExists(atPath: folder))
        #expect(try await h.stop() == 0)
    }

    @Test func aRotatedTenBitHEVCClipGetsAPortraitEightBitH264Rendition() async throws {
        let h = try DaemonHarness(environment: ["RENDITIONS": "720p,360p"])
        defer { h.remove() }
        try await h.start()
        try h.drop(try await TestClips.rotatedHEVC, as: "phone/IMG_0001.MOV")
        let asset = try await Self.waitForDerived(h, project: "phone", sprite: false)
        let renditions = try #require(asset["renditions"] as? [[String: Any]])
        // The ladder never exceeds the source: one rendition, at the clip's own (displayed) size.
        #expect(renditions.map { $0["name"] as? String } == ["180p"])
        let path = h.storage + "/" + (try #require(renditions[0]["relative_path"] as? String))
        let video = try #require(Self.stream(try Self.probe(path), "video"))
        #expect(video["codec_name"] as? String == "h264")
        #expect(video["pix_fmt"] as? String == "yuv420p")
        #expect(video["width"] as? Int == 180 && video["height"] as? Int == 320)
        #expect((video["side_data_list"] as? [Any]) == nil, "no display matrix: the picture is turned already")
        #expect(try await h.stop() == 0)
    }

    @Test func aTinyRotatedClipGetsOnePortraitWebMAtItsOwnSize() async throws {
        let h = try DaemonHarness(environment: ["VIDEO_OUTPUT_FORMAT": "webm", "RENDITIONS": "720p"])
        defer { h.remove() }
        try await h.start()
        try h.drop(try await TestClips.rotatedMP4, as: "tiny/phone.mp4")
        let asset = try await Self.waitForDerived(h, project: "tiny", sprite: false)
        #expect(asset["sprite"] is NSNull)
        let renditions = try #require(asset["renditions"] as? [[String: Any]])
        #expect(renditions.count == 1)
        #expect(renditions[0]["name"] as? String == "180p")
        #expect(renditions[0]["width"] as? Int == 180 && renditions[0]["height"] as? Int == 320)
        let path = h.storage + "/" + (try #require(renditions[0]["relative_path"] as? String))
        #expect(path.hasSuffix("/180p.webm"))
        let report = try Self.probe(path)
        let video = try #require(Self.stream(report, "video"))
        #expect(video["codec_name"] as? String == "vp9")
        #expect(video["width"] as? Int == 180 && video["height"] as? Int == 320)
        #expect((video["side_data_list"] as? [Any]) == nil)
        // Purging the project removes its processed/ folder and counts its files.
        let uploaded =
            h.files(in: "storage/uploads/project_tiny").count + h.files(in: "storage/thumbnails/project_tiny").count
        let purge = try await h.request("DELETE", "/projects/tiny/storage").object()
        #expect(purge["files_removed"] as? Int == uploaded + 1)
        #expect(!FileManager.default.fileExists(atPath: h.storage + "/processed/project_tiny"))
        #expect(try await h.stop() == 0)
    }

    /// Found by a black-box review: a half-written rendition a crash left behind stayed (and was counted in the
    /// statistics) until an operator ran `repair`. The job's next attempt clears what earlier attempts left.
    @Test func aKilledEncodeLeavesNoHalfWrittenFileOnceTheJobIsRunAgain() async throws {
        let h = try await Self.daemonWithALongEncodeBegun()
        defer { h.remove() }
        _ = try await h.stop(signal: SIGKILL)
        try await h.start()
        let asset = try await Self.waitForDerived(h, project: "long", sprite: false, timeout: .seconds(150))
        #expect((asset["renditions"] as? [[String: Any]])?.first?["name"] as? String == "360p")
        #expect(!h.files(in: "storage/processed/project_long").contains { $0.contains(".ingestd-tmp-") })
        let stats = try await h.request("GET", "/projects/long/storage/stats").object()
        let processed = (stats["categories"] as? [String: Any])?["processed"] as? [String: Any]
        #expect(processed?["file_count"] as? Int == h.files(in: "storage/processed/project_long").count)
        #expect(try await h.stop() == 0)
    }

    /// A daemon (one encoder thread, `RENDITIONS=360p`) whose encode of the 12 s clip has begun: its temporary
    /// file exists in `processed/`.
    static func daemonWithALongEncodeBegun() async throws -> DaemonHarness {
        let h = try DaemonHarness(environment: ["FFMPEG_THREADS": "1", "RENDITIONS": "360p"])
        do {
            try await h.start()
            try h.drop(try await TestClips.long360p, as: "long/talk.mp4")
            try await waitUntil("the encode has begun", timeout: .seconds(60)) {
                h.files(in: "storage/processed/project_long").contains { $0.contains(".ingestd-tmp-") }
            }
            return h
        } catch {
            h.remove()
            throw error
        }
    }

    /// The nice value of each thread of process `pid` (field 19 of `/proc/PID/task/TID/stat`), by thread id.
    static func threadNiceValues(of pid: pid_t) -> [Int: Int] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        var values: [Int: Int] = [:]
        for task in tasks {
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/stat", encoding: .utf8),
                let end = stat.lastIndex(of: ")")
            else { continue }
            // After the command's closing parenthesis come fields 3, 4, …; the nice value is field 19.
            let fields = stat[stat.index(after: end)...].split(separator: " ")
            if let tid = Int(task), fields.count > 16, let nice = Int(fields[16]) { values[tid] = nice }
        }
        return values
    }

    /// Encodes are background work: during a burst they must not take the CPU that ingest and thumbnails need.
    @Test func encodesRunOnThreadsOfLowerPriorityThanTheRestOfTheDaemon() async throws {
        let h = try DaemonHarness(
            environment: ["FFMPEG_THREADS": "2", "RENDITIONS": "360p", "SPRITE_INTERVAL": "0"]
        )
        defer { h.remove() }
        try await h.start()
        let pid = try #require(h.process?.pid)
        try h.drop(try await TestClips.long360p, as: "long/talk.mp4")
        // The service's thread and the encoder's threads it started (x264 starts its own once it encodes).
        var nice: [Int: Int] = [:]
        try await waitUntil("the encoder's threads run at nice 10", timeout: .seconds(60)) {
            nice = Self.threadNiceValues(of: pid)
            return nice.values.filter { $0 == 10 }.count >= 2
        }
        #expect(nice[Int(pid)] == 0, "\(nice)")
        #expect(nice.values.filter { $0 == 0 }.count >= 4, "\(nice)")
        #expect(try await h.stop() == 0)
    }

    /// Found by review: a Swift task resumed from the service's niced thread could start the runtime's worker
    /// threads there, and they inherit the nice value, so control requests and ingest coordination would run
    /// at background priority. Once the jobs are done, only the service's own thread may be at nice 10.
    @Test func onlyTheRenditionThreadStaysAtBackgroundPriority() async throws {
        let h = try DaemonHarness(environment: ["FFMPEG_THREADS": "2", "RENDITIONS": "240p"])
        defer { h.remove() }
        try await h.start()
        let pid = try #require(h.process?.pid)
        for round in 0..<3 {
            // Idle long enough for the runtime's idle worker threads to end, so that new ones are started.
            try await Task.sleep(for: .seconds(6))
            try h.drop(try await TestClips.mp4, as: "p\(round)/clip.mp4")
            _ = try await Self.waitForDerived(h, project: "p\(round)", sprite: false)
        }
        try await Task.sleep(for: .milliseconds(500))
        let nice = Self.threadNiceValues(of: pid)
        #expect(nice.values.filter { $0 == 10 }.count == 1, "\(nice)")
        #expect(try await h.stop() == 0)
    }

    @Test func sigtermInterruptsALongEncodeAndTheRenditionIsFinishedAfterTheRestart() async throws {
        let h = try await Self.daemonWithALongEncodeBegun()
        defer { h.remove() }
        let stopped = ContinuousClock.now
        #expect(try await h.stop() == 0)
        // Interrupted within a frame; the rest is the daemon's ordinary drain, slower on a loaded machine.
        #expect(ContinuousClock.now - stopped < .seconds(8))
        try await h.start()
        let asset = try await Self.waitForDerived(h, project: "long", sprite: false, timeout: .seconds(150))
        let renditions = try #require(asset["renditions"] as? [[String: Any]])
        #expect(renditions.first?["name"] as? String == "360p")
        #expect(!h.files(in: "storage/processed/project_long").contains { $0.contains(".ingestd-tmp-") })
        #expect(!h.log.contains("decoder crashed"))
        #expect(try await h.stop() == 0)
    }
}
