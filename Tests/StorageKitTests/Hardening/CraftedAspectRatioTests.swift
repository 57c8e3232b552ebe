import Foundation
import Testing

@testable import StorageKit

/// Issue 10, scenario 1: sizes and aspect ratios read from a file never make the thumbnail math trap.
@Suite("Crafted pixel aspect ratios")
struct CraftedAspectRatioTests {
    /// A valid `width`×`height` H.264 MP4 whose `pasp` box is rewritten to `h:v`, as an attacker would.
    static func clip(width: Int, height: Int, pasp h: UInt32, _ v: UInt32, clips: ClipFactory) async throws -> String {
        let path = try await clips.make(
            "pasp-\(h)-\(v).mp4",
            video: "testsrc=size=\(width)x\(height):rate=5:duration=1",
            options: ["-vf", "setsar=1", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
        )
        var data = try Data(contentsOf: URL(fileURLWithPath: path))
        let box = try #require(data.range(of: Data("pasp".utf8)))
        for (i, value) in [h, v].enumerated() {
            let at = box.upperBound + 4 * i
            data.replaceSubrange(at..<at + 4, with: withUnsafeBytes(of: value.bigEndian) { Data($0) })
        }
        try data.write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test("16×4096 with pasp 1:32767 is refused with a reason, not a trap")
    func tallPixelsAreRefused() async throws {
        let clips = try ClipFactory()
        defer { clips.remove() }
        let path = try await Self.clip(width: 16, height: 4096, pasp: 1, 32767, clips: clips)
        // It passes every check before the thumbnail.
        let probe = try MediaProbe.probe(path: path)
        #expect(probe.hasVideo)
        do {
            _ = try ThumbnailRenderer(width: 320, decoderThreads: 1).render(path: path)
            Issue.record("a 1:32767 pixel aspect ratio was drawn")
        } catch {
            #expect(error.kind == .decodeFailed)
            #expect(error.detail.contains("1:32767"))
        }
    }

    @Test("pasp 32767:1 (very wide pixels) gives a thin but valid thumbnail")
    func widePixelsAreClamped() async throws {
        let clips = try ClipFactory()
        defer { clips.remove() }
        let path = try await Self.clip(width: 64, height: 64, pasp: 32767, 1, clips: clips)
        let thumbnail = try ThumbnailRenderer(width: 320, decoderThreads: 1).render(path: path)
        #expect(thumbnail.width == 320 && thumbnail.height == 2)
    }

    @Test("widest configurable thumbnail of the tallest accepted shape stays in range")
    func largestAcceptedSize() async throws {
        let clips = try ClipFactory()
        defer { clips.remove() }
        let path = try await Self.clip(width: 16, height: 256, pasp: 1, 1, clips: clips)
        let thumbnail = try ThumbnailRenderer(width: 16, decoderThreads: 1).render(path: path)
        #expect(thumbnail.width == 16 && thumbnail.height == 256)
    }
}
