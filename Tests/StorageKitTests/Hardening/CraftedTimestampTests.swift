import Foundation
import Testing

@testable import StorageKit

/// Timestamps read from a file never make the derived steps trap or run away: a Matroska cluster whose timestamp
/// is a few ticks short of `Int64.max` gives a first packet without a timestamp and then values libavformat
/// wraps to the most negative ones. The rendition encoder moves each such timestamp just past the last one, so
/// the rendition is still 25 frames over about a second (not days), and the thumbnail and sprite steps answer.
@Suite("Crafted timestamps")
struct CraftedTimestampTests {
    /// A valid 1 s H.264 Matroska (25 frames, one cluster) whose first cluster timestamp is rewritten to
    /// `Int64.max - 10`, as an attacker would: the 1-byte `Timestamp` element becomes an 8-byte one and the
    /// cluster's size grows by the 7 bytes added.
    static func clip(clips: ClipFactory) async throws -> String {
        let path = try await clips.make(
            "huge-timestamp.mkv",
            video: "testsrc2=size=64x48:rate=25:duration=1",
            options: ["-c:v", "libx264", "-preset", "ultrafast", "-write_crc32", "0"]
        )
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let cluster = try #require(Self.find([0x1F, 0x43, 0xB6, 0x75], in: bytes))
        let sizeAt = cluster + 4
        // The size is an EBML variable-length number: its first byte's leading zeros say how long it is.
        let length = bytes[sizeAt].leadingZeroBitCount + 1
        try #require(length <= 8)
        var size = 0
        for byte in bytes[sizeAt..<sizeAt + length] { size = size << 8 | Int(byte) }
        size &= (1 << (7 * length)) - 1
        let timestampAt = sizeAt + length
        try #require(Array(bytes[timestampAt..<timestampAt + 3]) == [0xE7, 0x81, 0x00])
        let grown = (size + 7) | (1 << (7 * length))
        let newSize = (0..<length).map { UInt8(truncatingIfNeeded: grown >> (8 * (length - 1 - $0))) }
        let huge = withUnsafeBytes(of: (Int64.max - 10).bigEndian) { Array($0) }
        bytes.replaceSubrange(sizeAt..<timestampAt + 3, with: newSize + [0xE7, 0x88] + huge)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    static func find(_ needle: [UInt8], in bytes: [UInt8]) -> Int? {
        guard bytes.count >= needle.count else { return nil }
        return (0...(bytes.count - needle.count)).first { bytes[$0..<$0 + needle.count].elementsEqual(needle) }
    }

    @Test("a cluster timestamp next to Int64.max: the rendition keeps 25 frames and about 1 s, in MP4 and WebM")
    func renditionOfWrappedTimestamps() async throws {
        let clips = try ClipFactory()
        defer { clips.remove() }
        let path = try await Self.clip(clips: clips)
        let probe = try MediaProbe.probe(path: path)
        #expect(probe.hasVideo)
        let step = try #require(try RenditionEncoder.plan(path: path, ladder: [.p240]).first)
        for container in RenditionContainer.allCases {
            let output = clips.path("out.\(container.fileExtension)")
            let made: EncodedRendition
            do {
                made = try RenditionEncoder(container: container, threads: 1).encode(path: path, step: step, to: output)
            } catch {
                // Refusing the file is an answer too, as long as it says why.
                #expect(error.kind == .decodeFailed, "\(container): \(error.detail)")
                continue
            }
            let report = try await FFprobeReport(output)
            let duration = Double(report.format["duration"] as? String ?? "") ?? -1
            #expect(made.width == 64 && made.height == 48 && made.frames == 25, "\(container): \(made)")
            #expect(duration > 0.5 && duration < 2, "\(container): \(duration) s")
        }
    }

    @Test("the thumbnail and the sprite sheet of the same file are drawn or refused, never a trap")
    func thumbnailAndSpriteOfHugeTimestamps() async throws {
        let clips = try ClipFactory()
        defer { clips.remove() }
        let path = try await Self.clip(clips: clips)
        let probe = try MediaProbe.probe(path: path)
        do {
            _ = try ThumbnailRenderer(width: 64, decoderThreads: 1).render(
                path: path,
                durationHint: probe.metadata.durationSeconds
            )
        } catch {
            #expect(error.kind == .decodeFailed)
        }
        do {
            _ = try SpriteRenderer().render(path: path, interval: .auto, durationHint: probe.metadata.durationSeconds)
        } catch {
            #expect(error.kind == .decodeFailed)
        }
    }
}
