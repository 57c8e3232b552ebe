import Foundation
import Testing

@testable import StorageKit

/// Sprite tiles are found by seeking to keyframes, and containers seek differently: MPEG-TS bisects on decoding
/// timestamps and lands on any packet, MP4 seeks by presentation time with a decoding-time index. Whatever the
/// container, every keyframe of the clip shows up, and a clip with one keyframe still gets its sheet.
@Suite(.timeLimit(.minutes(3)))
struct SpriteSeekTests {
    /// A 30 s clip with a keyframe every 2 s (B-frames on) in `ext`.
    static func clip(_ clips: ClipFactory, _ ext: String) async throws -> String {
        try await clips.make(
            "g50." + ext,
            video: "testsrc2=size=320x180:rate=25:duration=30",
            options: [
                "-c:v", "libx264", "-preset", "ultrafast", "-tune", "film", "-bf", "2", "-g", "50",
                "-keyint_min", "50", "-sc_threshold", "0", "-pix_fmt", "yuv420p",
            ]
        )
    }

    /// How many tiles of the sheet differ from the tile before them.
    static func distinctTiles(_ image: SpriteSheetImage, _ clips: ClipFactory) async throws -> Int {
        let means = try await tileGrids(image, clips)
        var distinct = 1
        for i in 1..<means.count where difference(means[i], means[i - 1]) > 1.5 { distinct += 1 }
        return distinct
    }

    static func difference(_ a: [Double], _ b: [Double]) -> Double {
        zip(a, b).map { abs($0 - $1) }.reduce(0, +) / Double(max(a.count, 1))
    }

    /// Each tile's coarse 8×8 grid of mean luma.
    static func tileGrids(_ image: SpriteSheetImage, _ clips: ClipFactory) async throws -> [[Double]] {
        let file = clips.path("sheet-\(UUID().uuidString).jpg")
        try Data(image.jpeg).write(to: URL(fileURLWithPath: file))
        let size = try await ClipFactory.probeSize(file)
        let grey = [UInt8](try await ClipFactory.ffmpeg(["-i", file, "-f", "rawvideo", "-pix_fmt", "gray", "-"]))
        var means: [[Double]] = []
        for index in 0..<image.count {
            let x0 = (index % image.columns) * image.tileWidth
            let y0 = (index / image.columns) * image.tileHeight
            // A coarse 8×8 grid of mean luma per tile.
            var grid: [Double] = []
            for gy in 0..<8 {
                for gx in 0..<8 {
                    var sum = 0.0
                    var n = 0.0
                    for y in (y0 + gy * image.tileHeight / 8)..<(y0 + (gy + 1) * image.tileHeight / 8) {
                        for x in (x0 + gx * image.tileWidth / 8)..<(x0 + (gx + 1) * image.tileWidth / 8) {
                            sum += Double(grey[y * size.width + x])
                            n += 1
                        }
                    }
                    grid.append(sum / max(n, 1))
                }
            }
            means.append(grid)
        }
        return means
    }

    /// Found by a black-box review: a tile showed the next keyframe even when the previous one was nearer its
    /// time (the tile for 0.5 s showed 2.0 s with keyframes every 2 s).
    @Test func aTileShowsTheKeyframeNearestItsTime() async throws {
        let clips = try ClipFactory()
        defer { clips.remove() }
        let source = try await Self.clip(clips, "mp4")
        let image = try #require(try SpriteRenderer().render(path: source, interval: .every(0.5)))
        let grids = try await Self.tileGrids(image, clips)
        #expect(Self.difference(grids[1], grids[0]) < 1.5, "0.5 s is nearer 0 s than 2 s")
        #expect(Self.difference(grids[3], grids[0]) > 1.5, "1.5 s is nearer 2 s than 0 s")
        #expect(Self.difference(grids[5], grids[4]) < 1.5, "2.5 s is nearer 2 s than 4 s")
    }

    @Test(arguments: ["mp4", "ts", "mkv", "m2ts"])
    func everyKeyframeOfTheClipShowsUp(_ ext: String) async throws {
        let clips = try ClipFactory()
        defer { clips.remove() }
        let source = try await Self.clip(clips, ext)
        let image = try #require(try SpriteRenderer().render(path: source, interval: .every(1)))
        #expect(image.count == 30)
        #expect(try await Self.distinctTiles(image, clips) >= 14, "one picture per keyframe (15 keyframes)")
    }

    /// The format an earlier probe recorded reads the file without a new probe: the same sheet.
    @Test func aSheetFromTheProbedFormatNameIsTheSheetFromAProbe() async throws {
        let clips = try ClipFactory()
        defer { clips.remove() }
        let source = try await Self.clip(clips, "mp4")
        let probed = try SpriteRenderer().render(path: source, interval: .every(1))
        let named = try SpriteRenderer().render(
            path: source,
            interval: .every(1),
            formatName: "mov,mp4,m4a,3gp,3g2,mj2"
        )
        #expect(named?.jpeg == probed?.jpeg)
    }

    @Test func aTransportStreamWithOneKeyframeGetsItsSheet() async throws {
        let clips = try ClipFactory()
        defer { clips.remove() }
        let source = try await clips.make(
            "native.ts",
            video: "testsrc2=size=640x360:rate=25:duration=3",
            audio: "sine=duration=3",
            options: ["-c:v", "libx264", "-c:a", "aac", "-shortest", "-f", "mpegts"]
        )
        let image = try #require(try SpriteRenderer().render(path: source, displayName: "t/native.ts", interval: .auto))
        #expect(image.count >= 6)
    }

    @Test func anUndecodableSpriteNamesTheUsersFileNotTheStoragePath() async throws {
        let clips = try ClipFactory()
        defer { clips.remove() }
        let source = try await clips.make(
            "clip.mp4",
            video: "testsrc2=size=320x180:rate=25:duration=2",
            options: ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-movflags", "+faststart"]
        )
        // The video payload overwritten with garbage past the headers: nothing decodes.
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: source)))
        let mdat = try #require(bytes.indices.dropLast(4).first { bytes[$0..<($0 + 4)] == [0x6D, 0x64, 0x61, 0x74] })
        for i in (mdat + 4)..<bytes.count { bytes[i] = UInt8(truncatingIfNeeded: i &* 31) }
        try Data(bytes).write(to: URL(fileURLWithPath: source))
        do {
            _ = try SpriteRenderer().render(path: source, displayName: "demo/holiday.mp4", interval: .auto)
            Issue.record("a sheet of garbage")
        } catch {
            #expect(!error.detail.contains(clips.path("")), "no storage path in \(error.detail)")
        }
    }
}
