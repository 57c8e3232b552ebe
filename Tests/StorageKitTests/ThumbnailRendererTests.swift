import Testing

@testable import StorageKit

@Suite("ThumbnailRenderer")
struct ThumbnailRendererTests {
    let renderer = ThumbnailRenderer(width: 320, decoderThreads: 2)

    /// Renders `path`, checks the JPEG's framing and decodes it back to grey pixels with the ffmpeg CLI.
    func renderAndDecode(
        _ path: String,
        clips: ClipFactory,
        renderer: ThumbnailRenderer? = nil
    ) async throws
        -> (thumbnail: Thumbnail, pixels: [UInt8])
    {
        let thumbnail = try (renderer ?? self.renderer).render(path: path, durationHint: nil)
        #expect(thumbnail.jpeg.starts(with: [0xFF, 0xD8]))
        #expect(thumbnail.jpeg.suffix(2) == [0xFF, 0xD9])
        let decoded = try await clips.decodeGrey(jpeg: thumbnail.jpeg)
        #expect(decoded.width == thumbnail.width && decoded.height == thumbnail.height)
        #expect(decoded.pixels.count == thumbnail.width * thumbnail.height)
        return (thumbnail, decoded.pixels)
    }

    /// The kind of the error `body` throws, nil if it succeeds.
    func failure(_ body: () throws -> Void) -> MediaError.Kind? {
        do {
            try body()
            return nil
        } catch {
            return (error as? MediaError)?.kind
        }
    }

    @Test("16:9 h264 gives exactly 320×180")
    func landscape() async throws {
        let clips = try ClipFactory()
        defer { clips.remove() }
        let (thumbnail, pixels) = try await renderAndDecode(try await clips.h264WithAudio(), clips: clips)
        #expect(thumbnail.width == 320 && thumbnail.height == 180)
        let mean = meanLuma(pixels, width: 320, rows: 0..<180)
        #expect(mean > 40 && mean < 220)
    }

    /// The JPEG carries the standard's Huffman tables (one pass over the coefficients), not tables made for
    /// the picture: its luminance DC table is Annex K.3's, code lengths and symbols.
    @Test("thumbnails are coded with the JPEG standard's Huffman tables")
    func standardHuffmanTables() async throws {
        let clips = try ClipFactory()
        defer { clips.remove() }
        let jpeg = try renderer.render(path: try await clips.h264WithAudio()).jpeg
        let luminanceDC: [UInt8] = [0x00, 0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0] + Array(0...11)
        let found = jpeg.indices.dropLast(luminanceDC.count).contains { start in
            jpeg[start..<start + luminanceDC.count].elementsEqual(luminanceDC)
        }
        #expect(found)
    }

    @Test("the width setting is honoured and the height stays even")
    func otherWidth() async throws {
        let clips = try ClipFactory()
        defer { clips.remove() }
        let (thumbnail, _) = try await renderAndDecode(
            try await clips.h264VideoOnly(),
            clips: clips,
            renderer: ThumbnailRenderer(width: 100, decoderThreads: 1)
        )
        // 100 × 180 / 320 = 56.25 → 56.
        #expect(thumbnail.width == 100 && thumbnail.height == 56)
    }

    @Test("a 90° clockwise clip gives a portrait thumbnail with its left edge on top")
    func rotatedClockwise() async throws {
        let clips = try ClipFactory()
        defer { clips.remove() }
        let (thumbnail, pixels) = try await renderAndDecode(
            try await clips.rotated("rotated.mov", clockwise: 90),
            clips: clips
        )
        // 320 × 320 / 180 = 568.9 → 568 (nearest even).
        #expect(thumbnail.width == 320 && thumbnail.height == 568)
        // The white bar was the left 40 of 320 source columns: after the turn it fills the top 1/8 of the rows.
        let top = meanLuma(pixels, width: 320, rows: 0..<60)
        let bottom = meanLuma(pixels, width: 320, rows: 508..<568)
        #expect(top > 200, "top mean \(top)")
        #expect(bottom < 120, "bottom mean \(bottom)")
    }

    @Test("a 270° clockwise clip puts the left edge at the bottom")
    func rotatedCounterClockwise() async throws {
        let clips = try ClipFactory()
        defer { clips.remove() }
        let (thumbnail, pixels) = try await renderAndDecode(
            try await clips.rotated("rotated.mov", clockwise: 270),
            clips: clips
        )
        #expect(thumbnail.width == 320 && thumbnail.height == 568)
        #expect(meanLuma(pixels, width: 320, rows: 0..<60) < 120)
        #expect(meanLuma(pixels, width: 320, rows: 508..<568) > 200)
    }

    @Test("a 180° clip keeps its size and puts the left edge on the right")
    func upsideDown() async throws {
        let clips = try ClipFactory()
        defer { clips.remove() }
        let (thumbnail, pixels) = try await renderAndDecode(
            try await clips.rotated("rotated.mov", clockwise: 180),
            clips: clips
        )
        #expect(thumbnail.width == 320 && thumbnail.height == 180)
        let leftColumns = (0..<180).map { Int(pixels[$0 * 320 + 10]) }.reduce(0, +) / 180
        let rightColumns = (0..<180).map { Int(pixels[$0 * 320 + 310]) }.reduce(0, +) / 180
        #expect(rightColumns > 200 && leftColumns < 120, "left \(leftColumns) right \(rightColumns)")
    }

    @Test("non-square pixels: 320×180 with SAR 2:1 is displayed 640×180, so 320×90")
    func sampleAspectRatio() async throws {
        let clips = try ClipFactory()
        defer { clips.remove() }
        let (thumbnail, _) = try await renderAndDecode(
            try await clips.h264VideoOnly(extraFilters: ",setsar=2"),
            clips: clips
        )
        #expect(thumbnail.width == 320 && thumbnail.height == 90)
    }

    @Test("AVI with MJPEG and MPEG-4 Part 2 gives 320×240", arguments: ["mjpeg", "mpeg4"])
    func avi(codec: String) async throws {
        let clips = try ClipFactory()
        defer { clips.remove() }
        let (thumbnail, _) = try await renderAndDecode(try await clips.avi("clip.avi", codec: codec), clips: clips)
        #expect(thumbnail.width == 320 && thumbnail.height == 240)
    }

    @Test("black first 40 %: the thumbnail comes from the bright part")
    func skipsBlack() async throws {
        let clips = try ClipFactory()
        defer { clips.remove() }
        let (_, pixels) = try await renderAndDecode(try await clips.blackThenBright(), clips: clips)
        let mean = meanLuma(pixels, width: 320, rows: 0..<180)
        #expect(mean > 60, "mean luma \(mean)")
    }

    @Test(
        "an all-black or all-white video still gets its real (full-range JPEG) frame",
        arguments: [
            ("black", 0.0), ("white", 255.0),
        ]
    )
    func flatVideo(colour: String, expected: Double) async throws {
        let clips = try ClipFactory()
        defer { clips.remove() }
        let path = try await clips.make(
            "\(colour).mp4",
            video: "color=c=\(colour):size=320x180:rate=25:duration=2",
            options: ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
        )
        let (_, pixels) = try await renderAndDecode(path, clips: clips)
        // Limited-range leakage would show as 16 or 235.
        #expect(abs(meanLuma(pixels, width: 320, rows: 0..<180) - expected) < 4)
    }

    @Test("a probeable file whose video payload is garbage is decode_failed")
    func corruptPayload() async throws {
        let clips = try ClipFactory()
        defer { clips.remove() }
        let path = try await clips.corruptedVideoPayload()
        #expect(throws: Never.self) { try MediaProbe.probe(path: path) }
        do {
            let thumbnail = try renderer.render(path: path)
            Issue.record("rendered \(thumbnail.width)x\(thumbnail.height) from garbage")
        } catch {
            #expect(error.kind == .decodeFailed, "\(error)")
            #expect(!error.detail.isEmpty)
        }
    }

    @Test("audio-only is no_video, garbage is not_media")
    func notVideo() async throws {
        let clips = try ClipFactory()
        defer { clips.remove() }
        let audio = try await clips.audioOnly()
        let garbage = try clips.garbage("fake.mp4")
        #expect(failure { _ = try renderer.render(path: audio) } == .noVideo)
        #expect(failure { _ = try renderer.render(path: garbage) } == .notMedia)
    }

    @Test("shouldAbort stops the work as interrupted, the time limit as timed_out")
    func abortAndTimeLimit() async throws {
        let clips = try ClipFactory()
        defer { clips.remove() }
        let path = try await clips.h264VideoOnly()
        #expect(failure { _ = try renderer.render(path: path, shouldAbort: { true }) } == .interrupted)
        #expect(failure { _ = try renderer.render(path: path, timeLimit: .zero) } == .timedOut)
    }

    @Test("plane rotation moves pixels the right way")
    func planeRotation() {
        // 3×2 source:  1 2 3
        //              4 5 6
        let source: [UInt8] = [1, 2, 3, 4, 5, 6]
        func turned(_ degrees: Int) -> [UInt8] {
            var target = [UInt8](repeating: 0, count: 6)
            let quarter = degrees == 90 || degrees == 270
            source.withUnsafeBufferPointer { from in
                target.withUnsafeMutableBufferPointer { to in
                    PictureRotation.rotatePlane(
                        from.baseAddress!,
                        stride: 3,
                        width: 3,
                        height: 2,
                        into: to.baseAddress!,
                        stride: quarter ? 2 : 3,
                        clockwise: degrees
                    )
                }
            }
            return target
        }
        #expect(turned(90) == [4, 1, 5, 2, 6, 3])
        #expect(turned(270) == [3, 6, 2, 5, 1, 4])
        #expect(turned(180) == [6, 5, 4, 3, 2, 1])
        #expect(turned(0) == source)
    }
}
