import CFFmpeg
import Foundation
import Testing

@testable import StorageKit

/// Issue 12's corpus: every container people drop probes like ffprobe says, passes the structural check,
/// matches its extension and gives a real thumbnail; cut short, each checked container is `truncated`.
@Suite("Media corpus", .serialized)
struct MediaCorpusTests {
    func verdict(_ path: String, ext: String) throws -> ContainerVerdict {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        try #require(fd >= 0)
        defer { close(fd) }
        var info = stat()
        try #require(fstat(fd, &info) == 0)
        return ContainerCheck.check(fd: fd, size: Int64(info.st_size), ext: ext)
    }

    @Test(
        "probe matches ffprobe, the content matches the extension, the structure is whole",
        arguments: MediaCorpus.playable
    )
    func probe(clip: MediaCorpus.Clip) async throws {
        let path = try await MediaCorpus.path(clip)
        #expect(try verdict(path, ext: clip.ext) == .ok)
        let result = try MediaProbe.probe(path: path, displayName: "demo/" + clip.name)
        let reference = try await FFprobeFacts(path)
        #expect(result.formatName == reference.formatName)
        #expect(MediaFormats.formatMatchesExtension(formatName: result.formatName, ext: clip.ext))
        #expect(MediaFormats.mimeType(forExtension: clip.ext) != nil)
        let m = result.metadata
        #expect(m.videoCodec == clip.videoCodec)
        #expect(m.videoCodec == reference.videoString("codec_name"))
        #expect(m.width == reference.videoInt("width"))
        #expect(m.height == reference.videoInt("height"))
        #expect(m.pixelFormat == reference.videoString("pix_fmt"))
        #expect(m.bitDepth != nil)
        let transfer = reference.videoString("color_transfer")
        #expect(m.colorTransfer == (transfer == "unknown" ? nil : transfer))
        #expect(m.audioCodec == reference.audioString("codec_name"))
        #expect(m.sampleRate == reference.sampleRate)
        #expect(m.channels == reference.channels)
    }

    @Test("a thumbnail of the right size that is not black", arguments: MediaCorpus.playable)
    func thumbnail(clip: MediaCorpus.Clip) async throws {
        let path = try await MediaCorpus.path(clip)
        let thumbnail = try ThumbnailRenderer(width: 160, decoderThreads: 2).render(path: path)
        let picture = try await FFprobeFacts.rgb(ofPicture: thumbnail.jpeg, in: MediaCorpus.directory)
        #expect(picture.width == 160)
        let reference = try await FFprobeFacts(path)
        let width = Double(try #require(reference.videoInt("width")))
        let height = Double(try #require(reference.videoInt("height")))
        #expect(abs(Double(picture.height) - 160 * height / width) <= 2)
        let mean = Double(picture.pixels.reduce(0) { $0 + Int($1) }) / Double(max(1, picture.pixels.count))
        #expect(mean > 30, "thumbnail mean \(mean)")
    }

    @Test(
        "an indexless container whose only keyframe precedes the first timestamp still gives a thumbnail",
        arguments: ["mpegts", "mpeg"]
    )
    func singleKeyframeWithBFrames(format: String) async throws {
        let clips = try ClipFactory()
        defer { clips.remove() }
        // B-frames put the keyframe's decoding time before the stream's first presentation time, so a seek
        // to that time lands after the keyframe; with one keyframe nothing would decode.
        let path = try await clips.make(
            "bframes.\(format == "mpeg" ? "mpg" : "m2ts")",
            video: "testsrc2=size=640x360:rate=30:duration=3",
            options: [
                "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-g", "300", "-bf", "2",
                "-f", format,
            ] + (format == "mpegts" ? ["-mpegts_m2ts_mode", "1"] : [])
        )
        let thumbnail = try ThumbnailRenderer(width: 160, decoderThreads: 2).render(path: path)
        #expect(thumbnail.width == 160 && thumbnail.height == 90)
    }

    @Test("the iPhone-like HLG clip: 10-bit BT.2020 metadata, camera tags, and a thumbnail in the right colour")
    func hlg() async throws {
        let clip = try #require(MediaCorpus.playable.first { $0.name == "iphone-hlg.MOV" })
        let path = try await MediaCorpus.path(clip)
        let m = try MediaProbe.probe(path: path).metadata
        #expect(m.pixelFormat == "yuv420p10le")
        #expect(m.bitDepth == 10)
        #expect(m.colorTransfer == "arib-std-b67")
        #expect(m.make == "Apple")
        #expect(m.model == "iPhone 15 Pro")
        #expect(m.location == "+48.8577+002.2950+035.000/")
        #expect(m.creationTime == "2026-05-01T12:34:56Z")
        let thumbnail = try ThumbnailRenderer(width: 320, decoderThreads: 2).render(path: path)
        let picture = try await FFprobeFacts.rgb(ofPicture: thumbnail.jpeg, in: MediaCorpus.directory)
        let centre = (picture.height / 2 * picture.width + picture.width / 2) * 3
        let (r, g, b) = (Int(picture.pixels[centre]), Int(picture.pixels[centre + 1]), Int(picture.pixels[centre + 2]))
        let want = MediaCorpus.hlgColour
        // Within a few percent of full scale per channel.
        #expect(abs(r - want.r) <= 10 && abs(g - want.g) <= 10 && abs(b - want.b) <= 10, "got (\(r), \(g), \(b))")
    }

    @Test("the PQ (HDR10) clip is tone-mapped to SDR: its flat colour stays close to the original")
    func pq() async throws {
        let clip = try #require(MediaCorpus.playable.first { $0.name == "hdr10-pq.mkv" })
        let path = try await MediaCorpus.path(clip)
        #expect(try MediaProbe.probe(path: path).metadata.colorTransfer == "smpte2084")
        let thumbnail = try ThumbnailRenderer(width: 320, decoderThreads: 2).render(path: path)
        let picture = try await FFprobeFacts.rgb(ofPicture: thumbnail.jpeg, in: MediaCorpus.directory)
        let centre = (picture.height / 2 * picture.width + picture.width / 2) * 3
        let (r, g, b) = (Int(picture.pixels[centre]), Int(picture.pixels[centre + 1]), Int(picture.pixels[centre + 2]))
        let want = MediaCorpus.hlgColour
        // Möbius leaves colours in the SDR range nearly alone (a few percent).
        #expect(abs(r - want.r) <= 16 && abs(g - want.g) <= 10 && abs(b - want.b) <= 10, "got (\(r), \(g), \(b))")
    }

    @Test("SDRConverter: HDR frames become 8-bit BT.709 limited-range 4:2:0 for encoders")
    func sdrConverterForVideo() async throws {
        for name in ["iphone-hlg.MOV", "hdr10-pq.mkv"] {
            let clip = try #require(MediaCorpus.playable.first { $0.name == name })
            let input = try MediaInput(path: try await MediaCorpus.path(clip), interrupter: Interrupter())
            let stream = try #require(input.videoStream)
            let reader = try VideoFrameReader(
                input: input,
                stream: stream,
                decoder: try StreamDecoder(stream: stream, threads: 1)
            )
            let frame = try #require(try reader.nextFrame())
            #expect(SDRConverter.needsConversion(frame))
            let converter = SDRConverter(output: .video)
            for _ in 0..<2 {  // the graph is reused for a second frame of the same shape
                let sdr = try converter.convert(frame)
                let out = sdr.pointer.pointee
                #expect(out.format == AV_PIX_FMT_YUV420P.rawValue)
                #expect(out.width == frame.pointee.width && out.height == frame.pointee.height)
                #expect(out.color_trc == AVCOL_TRC_BT709 && out.color_primaries == AVCOL_PRI_BT709)
                #expect(out.colorspace == AVCOL_SPC_BT709 && out.color_range == AVCOL_RANGE_MPEG)
                #expect(!SDRConverter.needsConversion(sdr.pointer))
                // Luma of BT.709 (192, 48, 32) in limited range is about 82.
                let luma = Int(out.data.0![Int(out.linesize.0) * Int(out.height / 2) + Int(out.width / 2)])
                #expect(abs(luma - 82) <= 8, "\(name): luma \(luma)")
            }
        }
    }

    @Test("QuickTime udta tags: ©mak, ©mod, ©xyz and the movie's creation time; 3GPP's location")
    func udtaTags() async throws {
        let mov = try #require(MediaCorpus.playable.first { $0.name == "timecode.mov" })
        let m = try MediaProbe.probe(path: try await MediaCorpus.path(mov)).metadata
        #expect(m.make == "Canon")
        #expect(m.model == "EOS R5")
        #expect(m.location == "+35.6586+139.7454/")
        #expect(m.creationTime == "2025-12-24T18:00:00Z")
        let phone = try #require(MediaCorpus.playable.first { $0.ext == "3gp" })
        let p = try MediaProbe.probe(path: try await MediaCorpus.path(phone)).metadata
        #expect(p.location == "+60.1699+024.9384/")
        #expect(p.make == nil && p.model == nil)
    }

    @Test("an interlaced picture is deinterlaced: no combing in the thumbnail")
    func interlaced() async throws {
        let clip = try #require(MediaCorpus.playable.first { $0.name == "interlaced.ts" })
        let thumbnail = try ThumbnailRenderer(width: 320, decoderThreads: 2).render(
            path: try await MediaCorpus.path(clip)
        )
        let clips = try ClipFactory()
        defer { clips.remove() }
        let grey = try await clips.decodeGrey(jpeg: thumbnail.jpeg)
        // Woven fields alternate 16/235 row by row; deinterlaced rows differ little from their neighbours.
        let rows = (8..<(grey.height - 8)).map { meanLuma(grey.pixels, width: grey.width, rows: $0..<($0 + 1)) }
        let jumps = zip(rows, rows.dropFirst()).map { abs($0 - $1) }
        let meanJump = jumps.reduce(0, +) / Double(jumps.count)
        #expect(meanJump < 40, "rows jump by \(meanJump) on average")
    }

    @Test("audio with cover art is no_video, with the user's name in the detail")
    func coverArt() async throws {
        let path = try await MediaCorpus.path(MediaCorpus.coverArt)
        do {
            _ = try MediaProbe.probe(path: path, displayName: "demo/album/song.mp4")
            Issue.record("cover art probed as video")
        } catch {
            #expect(error.kind == .noVideo)
            #expect(error.detail.hasPrefix("demo/album/song.mp4 "))
            #expect(!error.detail.contains(MediaCorpus.directory))
        }
    }

    @Test(
        "cut short, every container with a structure to check is truncated, saying how many bytes are missing",
        arguments: MediaCorpus.playable.filter { MediaFormats.structure(forExtension: $0.ext) != .unchecked }
    )
    func cutShort(clip: MediaCorpus.Clip) async throws {
        let result = try verdict(try await MediaCorpus.cut(clip), ext: clip.ext)
        guard case .truncated(let detail) = result else {
            Issue.record("\(clip.name) cut short: \(result)")
            return
        }
        #expect(detail.contains("missing"), "\(detail)")
    }
}
