import Testing

@testable import StorageKit

@Suite("MediaProbe")
struct MediaProbeTests {
    @Test("h264 + AAC in MP4: every metadata key")
    func h264WithAudio() async throws {
        let clips = try ClipFactory()
        defer { clips.remove() }
        let result = try MediaProbe.probe(path: try await clips.h264WithAudio())
        let metadata = result.metadata
        #expect(result.hasVideo && result.hasAudio)
        #expect(result.formatName == "mov,mp4,m4a,3gp,3g2,mj2")
        #expect(metadata.formatName == "mov,mp4,m4a,3gp,3g2,mj2")
        #expect(metadata.width == 320)
        #expect(metadata.height == 180)
        #expect(metadata.rotation == 0)
        #expect(metadata.videoCodec == "h264")
        #expect(metadata.frameRate == 25)
        #expect(metadata.audioCodec == "aac")
        #expect(metadata.sampleRate == 48000)
        #expect(metadata.channels == 2)
        #expect(abs((metadata.durationSeconds ?? 0) - 2) < 0.1)
        #expect(result.durationSeconds == metadata.durationSeconds)
        #expect((metadata.bitRate ?? 0) > 0)
    }

    /// Issue 10: reading a crafted container's stream info has a time limit; past it the file is refused
    /// with a reason that says so, instead of holding an ingest worker for ever.
    @Test("a probe past its time limit fails as timed out, naming the file")
    func probeTimeLimit() async throws {
        let clips = try ClipFactory()
        defer { clips.remove() }
        let path = try await clips.h264WithAudio()
        #expect(throws: MediaError.self) {
            try MediaProbe.probe(path: path, displayName: "p/slow.mp4", timeLimit: .zero)
        }
        do {
            _ = try MediaProbe.probe(path: path, displayName: "p/slow.mp4", timeLimit: .zero)
        } catch {
            #expect(error.kind == .timedOut)
            #expect(error.detail.contains("p/slow.mp4") && error.detail.contains("took longer than 0 s"))
        }
        #expect(MediaProbe.timeLimit == .seconds(60))
        _ = try MediaProbe.probe(path: path, timeLimit: .seconds(60))
    }

    /// The format an earlier probe recorded opens the file without probing it again: the same container and
    /// the same thumbnail. The name is obeyed (the raw `data` demuxer reads anything; Matroska's cannot read an
    /// MP4, and no other demuxer is tried then); one this build lacks probes.
    @Test("a recorded format opens the file as probing would, and is obeyed")
    func recordedFormat() async throws {
        let clips = try ClipFactory()
        defer { clips.remove() }
        let path = try await clips.h264WithAudio()
        let probed = try MediaProbe.probe(path: path)
        func opened(_ format: String?) throws -> String {
            try MediaInput(path: path, interrupter: Interrupter(), format: format).formatName
        }
        #expect(try opened(probed.formatName) == probed.formatName)
        #expect(try opened("data") == "data")
        #expect(throws: MediaError.self) { try opened("matroska,webm") }
        #expect(try opened("no-such-demuxer") == probed.formatName)
        let renderer = ThumbnailRenderer(width: 160, decoderThreads: 1)
        let fromProbe = try renderer.render(path: path)
        #expect(try renderer.render(path: path, formatName: probed.formatName).jpeg == fromProbe.jpeg)
        #expect(throws: MediaError.self) { try renderer.render(path: path, formatName: "matroska,webm") }
    }

    @Test("a probed format name names its demuxer")
    func demuxerOfFormatName() {
        #expect(MediaFormats.demuxer(ofFormatName: "mov,mp4,m4a,3gp,3g2,mj2") == "mov")
        #expect(MediaFormats.demuxer(ofFormatName: "matroska,webm") == "matroska")
        #expect(MediaFormats.demuxer(ofFormatName: "mpegts") == "mpegts")
        #expect(MediaFormats.demuxer(ofFormatName: "") == nil)
    }

    @Test("video-only MP4 leaves the audio keys absent")
    func videoOnly() async throws {
        let clips = try ClipFactory()
        defer { clips.remove() }
        let result = try MediaProbe.probe(path: try await clips.h264VideoOnly())
        #expect(result.hasVideo && !result.hasAudio)
        #expect(result.metadata.audioCodec == nil)
        #expect(result.metadata.sampleRate == nil)
        #expect(result.metadata.channels == nil)
        #expect(result.metadata.rotation == 0)
    }

    @Test("rotation is clockwise degrees from the display matrix", arguments: [90, 180, 270])
    func rotation(clockwise: Int) async throws {
        let clips = try ClipFactory()
        defer { clips.remove() }
        let metadata = try MediaProbe.probe(path: try await clips.rotated("rotated.mov", clockwise: clockwise)).metadata
        #expect(metadata.rotation == clockwise)
        // width and height stay the coded size.
        #expect(metadata.width == 320)
        #expect(metadata.height == 180)
    }

    @Test("AVI with MJPEG and MPEG-4 Part 2", arguments: ["mjpeg", "mpeg4"])
    func avi(codec: String) async throws {
        let clips = try ClipFactory()
        defer { clips.remove() }
        let result = try MediaProbe.probe(path: try await clips.avi("clip.avi", codec: codec))
        #expect(result.formatName == "avi")
        #expect(result.metadata.videoCodec == codec)
        #expect(result.metadata.width == 320)
        #expect(result.metadata.height == 240)
        #expect(result.metadata.frameRate == 25)
        #expect(result.metadata.rotation == 0)
        #expect(result.metadata.audioCodec == nil)
        #expect(abs((result.metadata.durationSeconds ?? 0) - 1) < 0.1)
    }

    @Test("an audio-only MP4 is no_video")
    func audioOnly() async throws {
        let clips = try ClipFactory()
        defer { clips.remove() }
        let path = try await clips.audioOnly()
        #expect {
            try MediaProbe.probe(path: path)
        } throws: { error in
            (error as? MediaError)?.kind == .noVideo
        }
    }

    @Test("random bytes named .mp4 are not_media, with FFmpeg's reason")
    func garbage() throws {
        let clips = try ClipFactory()
        defer { clips.remove() }
        let path = try clips.garbage("fake.mp4")
        do {
            _ = try MediaProbe.probe(path: path)
            Issue.record("garbage probed as media")
        } catch {
            #expect(error.kind == .notMedia)
            #expect(error.detail.contains("Invalid data found when processing input"))
        }
    }

    @Test("a missing file is not_media")
    func missing() throws {
        #expect(throws: MediaError.self) { try MediaProbe.probe(path: "/nonexistent/clip.mp4") }
    }

    @Test("an AVI named .mp4 probes as avi, which does not match its extension")
    func aviNamedMP4() async throws {
        let clips = try ClipFactory()
        defer { clips.remove() }
        let path = try await clips.avi("really-avi.mp4", codec: "mpeg4")
        let result = try MediaProbe.probe(path: path)
        #expect(result.formatName == "avi")
        #expect(!MediaProbe.formatMatchesExtension(formatName: result.formatName, ext: "mp4"))
    }

    @Test(
        "format name against extension",
        arguments: [
            ("mov,mp4,m4a,3gp,3g2,mj2", "mp4", true), ("mov,mp4,m4a,3gp,3g2,mj2", "MOV", true),
            ("mov,mp4,m4a,3gp,3g2,mj2", ".mp4", true), ("avi", "avi", true), ("avi", "mp4", false),
            ("mov,mp4,m4a,3gp,3g2,mj2", "avi", false), ("matroska,webm", "mp4", false), ("avi", "mkv", false),
            ("matroska,webm", "mkv", true), ("matroska,webm", "WEBM", true), ("mov,mp4,m4a,3gp,3g2,mj2", "m4v", true),
            ("mov,mp4,m4a,3gp,3g2,mj2", "3gp", true), ("mpegts", "ts", true), ("mpegts", "mts", true),
            ("mpegts", "m2ts", true), ("mpeg", "mpg", true), ("mpeg", "vob", true), ("flv", "flv", true),
            ("asf", "wmv", true), ("asf", "asf", true), ("mpegts", "mkv", false), ("matroska,webm", "ts", false),
            ("mpeg", "mp4", false), ("nut", "nut", true), ("nut", "mkv", false), ("", "mp4", false),
            ("mov,mp4,m4a,3gp,3g2,mj2", "", false), ("gif", "gif", true), ("gif", "mp4", false),
        ]
    )
    func formatMatches(formatName: String, ext: String, expected: Bool) {
        #expect(MediaProbe.formatMatchesExtension(formatName: formatName, ext: ext) == expected)
    }

    @Test(
        "extensions of containers FFmpeg reads",
        arguments: [
            ("mp4", true), ("MKV", true), ("webm", true), ("mts", true), ("gif", true), ("nut", true), ("y4m", true),
            ("exe", false), ("docx", false), ("", false),
        ]
    )
    func containerExtensions(ext: String, expected: Bool) {
        #expect(MediaFormats.isContainerExtension(ext) == expected)
    }

    @Test(
        "MIME types",
        arguments: [
            ("mp4", "video/mp4"), ("MP4", "video/mp4"), ("mov", "video/quicktime"), ("avi", "video/x-msvideo"),
            ("mkv", "video/x-matroska"), ("webm", "video/webm"), ("M4V", "video/x-m4v"), ("3gp", "video/3gpp"),
            ("ts", "video/mp2t"), ("mts", "video/mp2t"), ("m2ts", "video/mp2t"), ("mpg", "video/mpeg"),
            ("mpeg", "video/mpeg"), ("flv", "video/x-flv"), ("wmv", "video/x-ms-wmv"), ("asf", "video/x-ms-asf"),
            ("txt", nil),
        ] as [(String, String?)]
    )
    func mimeTypes(ext: String, expected: String?) {
        #expect(MediaProbe.mimeType(forExtension: ext) == expected)
    }

    @Test("display rotation normalizes to quarter turns")
    func normalization() {
        #expect(DisplayRotation.normalized(clockwise: 90) == 90)
        #expect(DisplayRotation.normalized(clockwise: -90) == 270)
        #expect(DisplayRotation.normalized(clockwise: -180) == 180)
        #expect(DisplayRotation.normalized(clockwise: 359.6) == 0)
        #expect(DisplayRotation.normalized(clockwise: -0.0) == 0)
    }

    @Test("FFmpeg error codes turn into text")
    func errorText() {
        let error = FFmpegError(code: -2, function: "avformat_open_input")
        #expect(error.message == "No such file or directory")
        #expect(error.description.contains("avformat_open_input"))
    }
}
