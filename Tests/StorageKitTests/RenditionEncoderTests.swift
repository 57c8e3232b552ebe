import Foundation
import IngestConfig
import Testing

@testable import StorageKit

/// Renditions and sprite sheets made in-process, checked with ffprobe.
@Suite(.timeLimit(.minutes(3)))
struct RenditionEncoderTests {
    @Test func mp4IsH264HighAndAACWithTheIndexFirst() async throws {
        let clips = try ClipFactory()
        defer { clips.remove() }
        let source = try await clips.make(
            "src.mp4",
            video: "testsrc2=size=426x240:rate=25:duration=2",
            audio: "sine=frequency=440:sample_rate=44100:duration=2",
            options: [
                "-ac", "6", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac",
                "-shortest",
            ]
        )
        let steps = try RenditionEncoder.plan(path: source, ladder: [.p720, .p240])
        #expect(steps == [.init(name: "240p", width: 426, height: 240)])
        let output = clips.path("240p.mp4")
        let result = try RenditionEncoder(container: .mp4, threads: 2).encode(path: source, step: steps[0], to: output)
        #expect(result.frames == 50)
        #expect(result.audioCodec == "aac")
        let report = try await FFprobeReport(output)
        #expect(report.video?["codec_name"] as? String == "h264")
        #expect(report.video?["profile"] as? String == "High")
        #expect(report.video?["width"] as? Int == 426)
        #expect(report.video?["height"] as? Int == 240)
        #expect(report.video?["pix_fmt"] as? String == "yuv420p")
        #expect(report.audio?["codec_name"] as? String == "aac")
        #expect(report.audio?["channels"] as? Int == 2)
        #expect(abs(report.duration - 2) < 0.15, "duration \(report.duration)")
        #expect(try FFprobeReport.moovBeforeMdat(output))
    }

    @Test func aRotatedClipBecomesPortraitWithoutADisplayMatrix() async throws {
        let clips = try ClipFactory()
        defer { clips.remove() }
        let source = try await clips.rotated("rotated.mp4", clockwise: 90)
        let steps = try RenditionEncoder.plan(path: source, ladder: [.p720])
        #expect(steps == [.init(name: "180p", width: 180, height: 320)])
        let output = clips.path("180p.mp4")
        _ = try RenditionEncoder(container: .mp4, threads: 1).encode(path: source, step: steps[0], to: output)
        let report = try await FFprobeReport(output)
        #expect(report.video?["width"] as? Int == 180)
        #expect(report.video?["height"] as? Int == 320)
        #expect(!report.hasDisplayMatrix)
        #expect(report.audio == nil)
        // The white bar on the stored picture's left edge is at the top once turned 90° clockwise.
        let grey = try await ClipFactory.ffmpeg([
            "-i", output, "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "gray", "-",
        ])
        let pixels = [UInt8](grey)
        #expect(meanLuma(pixels, width: 180, rows: 0..<30) > 200)
        #expect(meanLuma(pixels, width: 180, rows: 200..<320) < 140)
    }

    @Test func webmIsVP9AndOpus() async throws {
        let clips = try ClipFactory()
        defer { clips.remove() }
        let source = try await clips.h264WithAudio()
        let steps = try RenditionEncoder.plan(path: source, ladder: [.p240])
        let output = clips.path("180p.webm")
        let result = try RenditionEncoder(container: .webm, threads: 2).encode(path: source, step: steps[0], to: output)
        #expect(result.videoCodec == "vp9" && result.audioCodec == "opus")
        let report = try await FFprobeReport(output)
        #expect((report.format["format_name"] as? String)?.contains("webm") == true)
        #expect(report.video?["codec_name"] as? String == "vp9")
        #expect(report.audio?["codec_name"] as? String == "opus")
        #expect(abs(report.duration - 2) < 0.15, "duration \(report.duration)")
    }

    @Test func anInterruptStopsTheEncode() async throws {
        let clips = try ClipFactory()
        defer { clips.remove() }
        let source = try await clips.h264WithAudio()
        let step = RenditionGeometry.Step(name: "180p", width: 320, height: 180)
        #expect(throws: MediaError.self) {
            try RenditionEncoder(container: .mp4, threads: 1).encode(
                path: source,
                step: step,
                to: clips.path("x.mp4"),
                shouldAbort: { true }
            )
        }
    }

    @Test func spriteTilesKeepTheDisplayedAspectAndMatchTheCues() async throws {
        let clips = try ClipFactory()
        defer { clips.remove() }
        // 6 s at 25 fps with a keyframe every second: auto gives 12 tiles 0.5 s apart.
        let source = try await clips.make(
            "sprite.mp4",
            video: "testsrc2=size=320x240:rate=25:duration=6",
            options: ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "25"]
        )
        let image = try #require(try SpriteRenderer().render(path: source, interval: .auto))
        #expect(image.count == 12)
        #expect(image.intervalSeconds == 0.5)
        #expect(image.columns == 10)
        #expect(image.tileWidth == 160 && image.tileHeight == 120)
        let file = clips.path("sprite.jpg")
        try Data(image.jpeg).write(to: URL(fileURLWithPath: file))
        let size = try await ClipFactory.probeSize(file)
        #expect(size.width == 1600 && size.height == 240)
        let cues = image.webVTT(imageName: "sprite.jpg").components(separatedBy: "#xywh=").count - 1
        #expect(cues == 12)
    }

    @Test func aRotatedSpriteIsPortrait() async throws {
        let clips = try ClipFactory()
        defer { clips.remove() }
        let source = try await clips.rotated("rotated.mp4", clockwise: 270)
        let image = try #require(try SpriteRenderer().render(path: source, interval: .every(0.5)))
        #expect(image.tileWidth == 160 && image.tileHeight == 284)
        #expect(image.count == 2)
        #expect(try SpriteRenderer().render(path: source, interval: .none) == nil)
    }

    @Test func anHLGClipIsToneMappedToSDRInTheRenditionAndTheSprite() async throws {
        let clip = try #require(MediaCorpus.playable.first { $0.name == "iphone-hlg.MOV" })
        let source = try await MediaCorpus.path(clip)
        let clips = try ClipFactory()
        defer { clips.remove() }
        let steps = try RenditionEncoder.plan(path: source, ladder: [.p720])
        #expect(steps == [.init(name: "240p", width: 320, height: 240)])
        let output = clips.path("240p.mp4")
        _ = try RenditionEncoder(container: .mp4, threads: 1).encode(path: source, step: steps[0], to: output)
        let report = try await FFprobeReport(output)
        #expect(report.video?["pix_fmt"] as? String == "yuv420p")
        #expect(report.video?["color_transfer"] as? String == "bt709")
        let rgb = [UInt8](
            try await ClipFactory.ffmpeg(
                [
                    "-i", output, "-frames:v", "1", "-vf", "scale=in_color_matrix=bt709", "-f", "rawvideo", "-pix_fmt",
                    "rgb24", "-",
                ])
        )
        let centre = (120 * 320 + 160) * 3
        let (r, g, b) = (Int(rgb[centre]), Int(rgb[centre + 1]), Int(rgb[centre + 2]))
        let want = MediaCorpus.hlgColour
        #expect(abs(r - want.r) <= 16 && abs(g - want.g) <= 12 && abs(b - want.b) <= 12, "got (\(r), \(g), \(b))")

        let sprite = try #require(try SpriteRenderer().render(path: source, interval: .auto))
        let picture = try await FFprobeFacts.rgb(ofPicture: sprite.jpeg, in: clips.directory.path)
        let middle = (picture.height / 2 * picture.width + 80) * 3
        let (sr, sg, sb) = (
            Int(picture.pixels[middle]), Int(picture.pixels[middle + 1]), Int(picture.pixels[middle + 2])
        )
        #expect(abs(sr - want.r) <= 16 && abs(sg - want.g) <= 12 && abs(sb - want.b) <= 12, "got (\(sr), \(sg), \(sb))")
    }

    @Test func anInterlacedClipIsDeinterlaced() async throws {
        let clip = try #require(MediaCorpus.playable.first { $0.name == "interlaced.ts" })
        let source = try await MediaCorpus.path(clip)
        let clips = try ClipFactory()
        defer { clips.remove() }
        let step = try #require(try RenditionEncoder.plan(path: source, ladder: [.p720]).first)
        let output = clips.path("interlaced.mp4")
        let result = try RenditionEncoder(container: .mp4, threads: 1).encode(path: source, step: step, to: output)
        #expect(result.frames == 25)
        let grey = [UInt8](
            try await ClipFactory.ffmpeg(
                ["-ss", "0.5", "-i", output, "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "gray", "-"])
        )
        // Woven fields alternate 16/235 row by row; deinterlaced rows differ little from their neighbours.
        let rows = (8..<(step.height - 8)).map { meanLuma(grey, width: step.width, rows: $0..<($0 + 1)) }
        let jumps = zip(rows, rows.dropFirst()).map { abs($0 - $1) }
        #expect(jumps.reduce(0, +) / Double(jumps.count) < 40)
    }
}
