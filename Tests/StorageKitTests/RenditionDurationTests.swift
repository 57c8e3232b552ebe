import Foundation
import TestSupport
import Testing

@testable import StorageKit

/// A rendition keeps every frame and the duration of its source: the last video frame is shown for as long as in
/// the source (an MP4 whose last sample lasts nothing ends its edit list early, and players drop that frame).
@Suite(.timeLimit(.minutes(3)))
struct RenditionDurationTests {
    /// Half a frame at 25 fps: a rendition one whole frame short is out.
    static let tolerance = 0.02
    /// Under half an AAC frame (1024 samples at 44.1 kHz): the padding of the source's last frame is out.
    static let audioTolerance = 0.01

    @Test(arguments: RenditionContainer.allCases)
    func everyFrameAndTheDurationOfAFiftyFrameClipSurvive(container: RenditionContainer) async throws {
        let clips = try ClipFactory()
        defer { clips.remove() }
        let source = try await clips.make(
            "src.mp4",
            video: "testsrc2=size=320x240:rate=25:duration=2",
            options: ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
        )
        let sourceVideo = try await StreamReading(source, stream: "v")
        #expect(sourceVideo.frames == 50)
        let output = clips.path("240p.\(container.fileExtension)")
        let result = try RenditionEncoder(container: container, threads: 2).encode(
            path: source,
            step: .init(name: "240p", width: 320, height: 240),
            to: output
        )
        #expect(result.frames == 50)
        let video = try await StreamReading(output, stream: "v")
        #expect(video.frames == 50)
        #expect(abs(video.duration - sourceVideo.duration) < Self.tolerance, "\(video) of \(sourceVideo)")
    }

    @Test func aOneFrameSourceGivesAOneFrameRendition() async throws {
        let clips = try ClipFactory()
        defer { clips.remove() }
        let source = try await clips.make(
            "one.mp4",
            video: "testsrc2=size=320x240:rate=25",
            options: ["-frames:v", "1", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
        )
        let sourceVideo = try await StreamReading(source, stream: "v")
        let output = clips.path("240p.mp4")
        let result = try RenditionEncoder(container: .mp4, threads: 1).encode(
            path: source,
            step: .init(name: "240p", width: 320, height: 240),
            to: output
        )
        #expect(result.frames == 1)
        let video = try await StreamReading(output, stream: "v")
        #expect(video.frames == 1)
        #expect(abs(video.duration - sourceVideo.duration) < Self.tolerance, "\(video) of \(sourceVideo)")
        #expect(video.duration > 0.03)
    }

    /// The source's AAC starts with 1024 samples of encoder delay and ends on a part-filled frame whose padding
    /// the decoder hands out whole: the rendition drops that padding, and its own encoder delay is hidden (MP4's
    /// edit list, WebM's codec delay), so its audio lasts as long as the source's, and so does the file.
    @Test(arguments: RenditionContainer.allCases)
    func theAudioAndTheFileKeepTheSourcesDuration(container: RenditionContainer) async throws {
        let clips = try ClipFactory()
        defer { clips.remove() }
        let source = try await clips.make(
            "src.mp4",
            video: "testsrc2=size=320x240:rate=25:duration=2",
            audio: "sine=frequency=440:sample_rate=44100:duration=2",
            options: [
                "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-ac", "2",
                "-shortest",
            ]
        )
        let sourceVideo = try await StreamReading(source, stream: "v")
        let sourceAudio = try await StreamReading(source, stream: "a")
        let output = clips.path("240p.\(container.fileExtension)")
        _ = try RenditionEncoder(container: container, threads: 2).encode(
            path: source,
            step: .init(name: "240p", width: 320, height: 240),
            to: output
        )
        let video = try await StreamReading(output, stream: "v")
        let audio = try await StreamReading(output, stream: "a")
        #expect(video.frames == sourceVideo.frames)
        #expect(abs(video.duration - sourceVideo.duration) < Self.tolerance, "\(video) of \(sourceVideo)")
        #expect(abs(audio.duration - sourceAudio.duration) < Self.audioTolerance, "\(audio) of \(sourceAudio)")
        let file = try await FFprobeReport(output).duration
        let sourceFile = try await FFprobeReport(source).duration
        #expect(abs(file - sourceFile) < Self.audioTolerance, "\(file) s of \(sourceFile) s")
    }

    /// Two 3 s camera clips joined with `cat` into one MPEG-TS: the second part's timestamps start again where
    /// the first part's did. The rendition plays both parts, 6 s, with the audio (the video was 3 s: the second
    /// part's 75 frames were squeezed into a tick each).
    @Test(arguments: RenditionContainer.allCases)
    func clipsJoinedWithCatKeepBothParts(container: RenditionContainer) async throws {
        let clips = try ClipFactory()
        defer { clips.remove() }
        var joined = Data()
        for part in 1...2 {
            let path = try await clips.make(
                "part\(part).ts",
                video: "testsrc2=size=320x240:rate=25:duration=3",
                audio: "sine=frequency=\(300 * part):sample_rate=48000:duration=3",
                options: ["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest", "-f", "mpegts"]
            )
            joined.append(try Data(contentsOf: URL(fileURLWithPath: path)))
        }
        let source = clips.path("joined.ts")
        try joined.write(to: URL(fileURLWithPath: source))
        let output = clips.path("240p.\(container.fileExtension)")
        let result = try RenditionEncoder(container: container, threads: 1).encode(
            path: source,
            step: .init(name: "240p", width: 320, height: 240),
            to: output
        )
        #expect(result.frames == 150)
        let video = try await StreamReading(output, stream: "v")
        let audio = try await StreamReading(output, stream: "a")
        #expect(video.frames == 150)
        // WebM counts the video's duration from the file's start, and the source's video starts 23 ms after its audio.
        #expect(abs(video.duration - 6) < 0.05, "\(video)")
        #expect(abs(audio.duration - video.duration) < 0.15, "\(audio) beside \(video)")
    }
}

/// What `ffprobe -count_frames` reads of the first stream of one type (`v`, `a`) of a file: the frames that
/// decode (packets marked discard, e.g. past the end of an MP4 edit list, are not counted) and the stream's
/// duration in seconds (Matroska's `DURATION` tag where the stream has none).
struct StreamReading: CustomStringConvertible {
    var frames: Int
    var duration: Double

    init(_ file: String, stream: String) async throws {
        let run = try await HelperPrograms.run(
            "/usr/bin/ffprobe",
            [
                "-v", "error", "-count_frames", "-select_streams", "\(stream):0", "-show_entries",
                "stream=nb_read_frames,duration:stream_tags=DURATION", "-of", "json", file,
            ]
        )
        let root = try JSONSerialization.jsonObject(with: Data(run.stdout)) as? [String: Any] ?? [:]
        let found = (root["streams"] as? [[String: Any]])?.first ?? [:]
        frames = Int(found["nb_read_frames"] as? String ?? "") ?? -1
        if let seconds = Double(found["duration"] as? String ?? "") {
            duration = seconds
        } else {
            // HH:MM:SS.nnnnnnnnn
            let tag = (found["tags"] as? [String: String])?["DURATION"] ?? ""
            duration = tag.split(separator: ":").reduce(0) { $0 * 60 + (Double($1) ?? .nan) }
        }
    }

    var description: String { "\(frames) frames, \(duration) s" }
}
