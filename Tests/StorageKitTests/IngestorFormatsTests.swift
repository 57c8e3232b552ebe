import Foundation
import IngestConfig
import Testing

@testable import StorageKit

/// Issue 12 through `Ingestor`: containers an operator allows are stored with the SPEC's MIME type, and every
/// rejection speaks of the file as the user named it.
@Suite("Ingestor: formats and the user's words", .serialized)
struct IngestorFormatsTests {
    typealias Bench = IngestorTests.Bench

    static let wide = ["mp4", "mov", "avi", "mkv", "webm", "m4v", "3gp", "mts", "m2ts", "ts", "mpg", "flv", "wmv"]

    @Test(
        .timeLimit(.minutes(4)),
        arguments: [
            ("vp9-opus.webm", "video/webm"), ("h264-subtitled.mkv", "video/x-matroska"), ("h264.m4v", "video/x-m4v"),
            ("phone.3gp", "video/3gpp"), ("h264.m2ts", "video/mp2t"), ("mpeg2.ts", "video/mp2t"),
            ("mpeg1.mpg", "video/mpeg"), ("h264.flv", "video/x-flv"), ("wmv2.wmv", "video/x-ms-wmv"),
        ]
    )
    func allowedContainersAreStored(name: String, mime: String) async throws {
        var b = try Bench()
        defer { b.remove() }
        b.config.allowedExtensions = Self.wide
        let clip = try #require(MediaCorpus.playable.first { $0.name == name })
        let source = try b.put(try await MediaCorpus.path(clip), at: "demo/" + name)
        let asset = try IngestorTests.stored(b.ingest(source, project: "demo"))
        #expect(asset.mimeType == mime)
        #expect(asset.metadata?.videoCodec == clip.videoCodec)
    }

    @Test(.timeLimit(.minutes(3)))
    func aMatroskaNamedMP4IsNotMedia() async throws {
        var b = try Bench()
        defer { b.remove() }
        b.config.allowedExtensions = Self.wide
        let clip = try #require(MediaCorpus.playable.first { $0.name == "h264-subtitled.mkv" })
        let source = try b.put(try await MediaCorpus.path(clip), at: "demo/disguised.mp4")
        guard case .rejected(let rejection, _, _) = b.ingest(source, project: "demo") else {
            Issue.record("a Matroska file named .mp4 was not rejected")
            return
        }
        #expect(rejection.reason == .notMedia)
    }

    /// Issue 11 review: ContainerCheck accepts an MP4 that starts with a `skip` box, which libavformat's probe
    /// rates low for MP4; when the box holds raw H.264, probing names that instead, and the file is not what
    /// `.mp4` promises. Opening it with the MP4 demuxer regardless would store it, with a thumbnail of one video
    /// and renditions (which probe) of another.
    @Test(.timeLimit(.minutes(3)))
    func anMP4WhoseFirstBoxHidesAnotherVideoIsNotMedia() async throws {
        var b = try Bench()
        defer { b.remove() }
        let shown = try await b.clips.h264VideoOnly()
        let hidden = b.clips.path("hidden.h264")
        try await ClipFactory.ffmpeg([
            "-i", try await b.clips.h264WithAudio(), "-an", "-c:v", "copy", "-f", "h264", hidden,
        ])
        let raw = try Checksums.bytes(hidden)
        let boxSize = UInt32(8 + raw.count)
        let skip = withUnsafeBytes(of: boxSize.bigEndian, Array.init) + Array("skip".utf8) + raw
        let crafted = b.clips.path("crafted.mp4")
        try writeFile(crafted, skip + (try Checksums.bytes(shown)))
        let source = try b.put(crafted, at: "demo/crafted.mp4")
        guard case .rejected(let rejection, _, _) = b.ingest(source, project: "demo") else {
            Issue.record("an MP4 whose skip box holds raw H.264 was stored")
            return
        }
        #expect(rejection.reason == .notMedia)
    }

    @Test(.timeLimit(.minutes(3)))
    func noVideoDetailNamesTheDroppedFile() async throws {
        var b = try Bench()
        defer { b.remove() }
        b.config.dropPath = b.drop
        let source = try b.put(try await MediaCorpus.path(MediaCorpus.coverArt), at: "demo/album/song.mp4")
        guard case .rejected(let rejection, _, _) = b.ingest(source, project: "demo") else {
            Issue.record("audio with cover art was not rejected")
            return
        }
        #expect(rejection.reason == .noVideo)
        #expect(rejection.detail.hasPrefix("demo/album/song.mp4 has no video stream"), "\(rejection.detail)")
        #expect(!rejection.detail.contains(".staging"))
        #expect(!rejection.detail.contains(b.dir.path))
    }

    @Test(.timeLimit(.minutes(3)))
    func uploadDetailsNameTheUpload() async throws {
        let b = try Bench()
        defer { b.remove() }
        let staged = b.layout.stagingPath + "/upload-\(UUID().uuidString).mp4"
        try FileManager.default.createDirectory(atPath: b.layout.stagingPath, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: try await MediaCorpus.path(MediaCorpus.coverArt), toPath: staged)
        let size = Int64(try Checksums.bytes(staged).count)
        let outcome = b.ingestor.ingestUpload(
            staged: staged,
            originalFilename: "my song.mp4",
            project: ProjectID(exactly: "demo")!,
            size: size,
            checksum: try await Checksums.sha256(file: staged),
            policy: IngestPolicy(b.config)
        )
        guard case .rejected(let rejection, _, _) = outcome else {
            Issue.record("upload with cover art only was not rejected: \(outcome)")
            return
        }
        #expect(rejection.detail.hasPrefix("my song.mp4 has no video stream"), "\(rejection.detail)")
        #expect(!rejection.detail.contains("upload-"))
    }

    @Test(.timeLimit(.minutes(3)))
    func aMovWhoseSamplesRunPastTheEndIsTruncated() async throws {
        let b = try Bench()
        defer { b.remove() }
        let good = try await b.clips.make(
            "faststart.mov",
            video: "testsrc2=size=320x180:rate=25:duration=2",
            options: ["-c:v", "libx264", "-preset", "ultrafast", "-movflags", "+faststart"]
        )
        var data = try Data(contentsOf: URL(fileURLWithPath: good))
        let mdat = try #require(data.range(of: Data("mdat".utf8)))
        let start = mdat.lowerBound - 4
        let keep = start + (data.count - start) / 3
        data = data.prefix(keep)
        for (i, byte) in withUnsafeBytes(of: UInt32(keep - start).bigEndian, Array.init).enumerated() {
            data[start + i] = byte
        }
        let source = b.drop + "/demo/cut.mov"
        try FileManager.default.createDirectory(atPath: b.drop + "/demo", withIntermediateDirectories: true)
        try data.write(to: URL(fileURLWithPath: source))
        guard case .rejected(let rejection, _, _) = b.ingest(source, project: "demo") else {
            Issue.record("a QuickTime file whose samples run past its end was stored")
            return
        }
        #expect(rejection.reason == .truncated)
        #expect(rejection.detail.contains("bytes are missing"))
    }
}
