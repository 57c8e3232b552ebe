import Foundation
import Testing

@testable import StorageKit

@Suite("ContainerCheck")
struct ContainerCheckTests {
    /// Opens `path` and checks it as a file with extension `ext`.
    func verdict(_ path: String, ext: String) throws -> ContainerVerdict {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        try #require(fd >= 0)
        defer { close(fd) }
        var info = stat()
        try #require(fstat(fd, &info) == 0)
        return ContainerCheck.check(fd: fd, size: Int64(info.st_size), ext: ext)
    }

    /// Writes `bytes` to a new file in `clips` and checks it.
    func verdict(bytes: [UInt8], ext: String, in clips: ClipFactory) throws -> ContainerVerdict {
        let path = clips.path("synthetic.\(ext)")
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return try verdict(path, ext: ext)
    }

    func isTruncated(_ verdict: ContainerVerdict) -> Bool {
        if case .truncated = verdict { return true }
        return false
    }

    func isNotMedia(_ verdict: ContainerVerdict) -> Bool {
        if case .notMedia = verdict { return true }
        return false
    }

    @Test("complete MP4, MOV and AVI files pass")
    func complete() async throws {
        let clips = try ClipFactory()
        defer { clips.remove() }
        #expect(try verdict(try await clips.h264WithAudio(), ext: "mp4") == .ok)
        #expect(try verdict(try await clips.rotated("rotated.mov", clockwise: 90), ext: "mov") == .ok)
        #expect(try verdict(try await clips.avi("clip.avi", codec: "mjpeg"), ext: "avi") == .ok)
        #expect(try verdict(try await clips.avi("clip4.avi", codec: "mpeg4"), ext: "AVI") == .ok)
    }

    @Test("the first 60 % of an MP4 is truncated, whether its index is at the end or the start")
    func truncatedMP4() async throws {
        let clips = try ClipFactory()
        defer { clips.remove() }
        let plain = try await clips.h264WithAudio()
        let fastStart = try await clips.make(
            "faststart.mp4",
            video: "testsrc2=size=320x180:rate=25:duration=2",
            options: ["-c:v", "libx264", "-preset", "ultrafast", "-movflags", "+faststart"]
        )
        for source in [plain, fastStart] {
            let cut = try clips.truncatedCopy(of: source, named: "cut.mp4", fraction: 0.6)
            let result = try verdict(cut, ext: "mp4")
            #expect(isTruncated(result), "\(source): \(result)")
            // libavformat still opens the moov-first copy: this check is what catches it.
            if source == fastStart { #expect(throws: Never.self) { try MediaProbe.probe(path: cut) } }
        }
    }

    @Test("a truncated AVI is truncated")
    func truncatedAVI() async throws {
        let clips = try ClipFactory()
        defer { clips.remove() }
        let cut = try clips.truncatedCopy(
            of: try await clips.avi("clip.avi", codec: "mjpeg"),
            named: "cut.avi",
            fraction: 0.6
        )
        #expect(isTruncated(try verdict(cut, ext: "avi")))
    }

    @Test("a zero-filled tail after the last box is truncated")
    func zeroTail() async throws {
        let clips = try ClipFactory()
        defer { clips.remove() }
        let padded = try clips.zeroPadded(try await clips.h264VideoOnly(), named: "padded.mp4", count: 4096)
        #expect(isTruncated(try verdict(padded, ext: "mp4")))
    }

    @Test("garbage, an AVI named .mp4 and an MP4 named .avi are not_media")
    func notMedia() async throws {
        let clips = try ClipFactory()
        defer { clips.remove() }
        #expect(isNotMedia(try verdict(try clips.garbage("fake.mp4"), ext: "mp4")))
        #expect(isNotMedia(try verdict(try clips.garbage("fake.avi"), ext: "avi")))
        #expect(isNotMedia(try verdict(try await clips.avi("really-avi.mp4", codec: "mpeg4"), ext: "mp4")))
        #expect(isNotMedia(try verdict(try await clips.h264VideoOnly("really-mp4.avi"), ext: "avi")))
        #expect(isNotMedia(try verdict(bytes: [0x00, 0x01], ext: "mp4", in: clips)))
        #expect(isNotMedia(try verdict(bytes: [], ext: "mp4", in: clips)))
    }

    /// An ISO-BMFF box with a 32-bit size.
    func box(_ type: String, payload: Int) -> [UInt8] {
        withUnsafeBytes(of: UInt32(8 + payload).bigEndian, Array.init) + Array(type.utf8)
            + [UInt8](repeating: 7, count: payload)
    }

    @Test("box sizes: 64-bit largesize, size 0 to the end, a box past the end, a missing moov")
    func syntheticBoxes() throws {
        let clips = try ClipFactory()
        defer { clips.remove() }
        let ftyp = box("ftyp", payload: 16)
        let moov = box("moov", payload: 40)
        let large =
            withUnsafeBytes(of: UInt32(1).bigEndian, Array.init) + Array("mdat".utf8)
            + withUnsafeBytes(of: UInt64(16 + 100).bigEndian, Array.init) + [UInt8](repeating: 1, count: 100)
        let toEnd =
            withUnsafeBytes(of: UInt32(0).bigEndian, Array.init) + Array("mdat".utf8) + [UInt8](repeating: 2, count: 50)
        #expect(try verdict(bytes: ftyp + moov + large, ext: "mp4", in: clips) == .ok)
        #expect(try verdict(bytes: ftyp + moov + toEnd, ext: "mov", in: clips) == .ok)
        #expect(isTruncated(try verdict(bytes: ftyp + moov + large.dropLast(1), ext: "mp4", in: clips)))
        #expect(isTruncated(try verdict(bytes: ftyp + large, ext: "mp4", in: clips)))
        #expect(isTruncated(try verdict(bytes: ftyp + moov + Array(large.prefix(12)), ext: "mp4", in: clips)))
        #expect(isNotMedia(try verdict(bytes: box("zzzz", payload: 8) + moov, ext: "mp4", in: clips)))
        #expect(isNotMedia(try verdict(bytes: ftyp + moov + [0, 0, 0, 4] + Array("free".utf8), ext: "mp4", in: clips)))
    }

    /// A RIFF chunk of `form` with `payload` bytes.
    func riff(_ form: String, payload: Int) -> [UInt8] {
        Array("RIFF".utf8) + withUnsafeBytes(of: UInt32(4 + payload).littleEndian, Array.init) + Array(form.utf8)
            + [UInt8](repeating: 3, count: payload)
    }

    @Test("RIFF: exact length, OpenDML AVIX chunks, pad bytes, a short file, trailing junk")
    func syntheticRIFF() throws {
        let clips = try ClipFactory()
        defer { clips.remove() }
        #expect(try verdict(bytes: riff("AVI ", payload: 100), ext: "avi", in: clips) == .ok)
        #expect(
            try verdict(bytes: riff("AVI ", payload: 100) + riff("AVIX", payload: 60), ext: "avi", in: clips) == .ok
        )
        #expect(
            try verdict(bytes: riff("AVI ", payload: 101) + [0] + riff("AVIX", payload: 60), ext: "avi", in: clips)
                == .ok
        )
        #expect(isTruncated(try verdict(bytes: Array(riff("AVI ", payload: 100).dropLast(10)), ext: "avi", in: clips)))
        #expect(
            isTruncated(
                try verdict(
                    bytes: riff("AVI ", payload: 100) + Array(riff("AVIX", payload: 60).dropLast(1)),
                    ext: "avi",
                    in: clips
                )
            )
        )
        #expect(isTruncated(try verdict(bytes: Array("RIFF".utf8) + [1, 2], ext: "avi", in: clips)))
        #expect(
            isNotMedia(
                try verdict(bytes: riff("AVI ", payload: 100) + [UInt8](repeating: 9, count: 20), ext: "avi", in: clips)
            )
        )
        #expect(isNotMedia(try verdict(bytes: riff("WAVE", payload: 100), ext: "avi", in: clips)))
    }

    @Test("containers without a structural check are left to libavformat")
    func uncheckedExtension() throws {
        let clips = try ClipFactory()
        defer { clips.remove() }
        #expect(try verdict(try clips.garbage("clip.nut"), ext: "nut") == .ok)
        #expect(try verdict(try clips.garbage("clip.ogv"), ext: "ogv") == .ok)
    }

    @Test("garbage named .mkv or .ts is not_media")
    func garbageMatroskaAndTransportStream() throws {
        let clips = try ClipFactory()
        defer { clips.remove() }
        #expect(isNotMedia(try verdict(try clips.garbage("clip.mkv"), ext: "mkv")))
        #expect(isNotMedia(try verdict(try clips.garbage("clip.ts"), ext: "ts")))
        #expect(isNotMedia(try verdict(try clips.garbage("clip.m2ts"), ext: "m2ts")))
    }

    @Test("boxes that tile the file but sample tables that point past its end are truncated")
    func sampleTablesPastTheEnd() async throws {
        let clips = try ClipFactory()
        defer { clips.remove() }
        // Index first, then mdat: cut the mdat short and shrink its size so the boxes still tile the file.
        let source = try await clips.make(
            "faststart.mp4",
            video: "testsrc2=size=320x180:rate=25:duration=2",
            options: ["-c:v", "libx264", "-preset", "ultrafast", "-movflags", "+faststart"]
        )
        var data = try Data(contentsOf: URL(fileURLWithPath: source))
        let mdat = try #require(data.range(of: Data("mdat".utf8)))
        let boxStart = mdat.lowerBound - 4
        let keep = boxStart + (data.count - boxStart) / 2
        data = data.prefix(keep)
        let newSize = UInt32(keep - boxStart)
        for (i, byte) in withUnsafeBytes(of: newSize.bigEndian, Array.init).enumerated() { data[boxStart + i] = byte }
        let result = try verdict(bytes: [UInt8](data), ext: "mov", in: clips)
        guard case .truncated(let detail) = result else {
            Issue.record("sample tables past the end: \(result)")
            return
        }
        #expect(detail.contains("bytes are missing"), "\(detail)")
        // The complete file passes.
        #expect(try verdict(source, ext: "mp4") == .ok)
    }

    /// Transport packets of `size` bytes (`sync` is where the 0x47 sits).
    func packets(_ count: Int, size: Int, sync: Int) -> [UInt8] {
        (0..<count).flatMap { _ in
            var packet = [UInt8](repeating: 0xFF, count: size)
            packet[sync] = 0x47
            return packet
        }
    }

    @Test("MPEG-TS: 188 and 192-byte packets, a cut final packet, lost alignment")
    func syntheticTransportStream() throws {
        let clips = try ClipFactory()
        defer { clips.remove() }
        #expect(try verdict(bytes: packets(40, size: 188, sync: 0), ext: "ts", in: clips) == .ok)
        #expect(try verdict(bytes: packets(40, size: 192, sync: 4), ext: "m2ts", in: clips) == .ok)
        let cut = try verdict(bytes: Array(packets(40, size: 188, sync: 0).dropLast(50)), ext: "ts", in: clips)
        #expect(
            cut
                == .truncated(
                    "The file ends 138 bytes into its last 188-byte transport packet (packet 40): 50 bytes are missing."
                )
        )
        var shifted = packets(40, size: 188, sync: 0)
        shifted.remove(at: 1000)
        shifted.append(0xFF)
        #expect(isNotMedia(try verdict(bytes: shifted, ext: "ts", in: clips)))
    }

    /// An EBML element: `id` bytes, a one-byte size (or `size` bytes given), then `payload` bytes.
    func element(_ id: [UInt8], payload: Int, size: [UInt8]? = nil) -> [UInt8] {
        id + (size ?? [0x80 | UInt8(payload)]) + [UInt8](repeating: 0x42, count: payload)
    }

    @Test("Matroska: a segment that fits, one of unknown size, one cut short")
    func syntheticMatroska() throws {
        let clips = try ClipFactory()
        defer { clips.remove() }
        let ebml = element([0x1A, 0x45, 0xDF, 0xA3], payload: 20)
        let segmentID: [UInt8] = [0x18, 0x53, 0x80, 0x67]
        #expect(try verdict(bytes: ebml + element(segmentID, payload: 100), ext: "mkv", in: clips) == .ok)
        let unknown = segmentID + [0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF] + [UInt8](repeating: 1, count: 30)
        #expect(try verdict(bytes: Self.ebmlHeader(docType: "webm") + unknown, ext: "webm", in: clips) == .ok)
        let cut = Array((ebml + element(segmentID, payload: 100)).dropLast(40))
        let result = try verdict(bytes: cut, ext: "mkv", in: clips)
        #expect(isTruncated(result))
        if case .truncated(let detail) = result { #expect(detail.contains("40 bytes are missing"), "\(detail)") }
    }

    /// An EBML header holding only a DocType element.
    static func ebmlHeader(docType: String) -> [UInt8] {
        let child: [UInt8] = [0x42, 0x82, 0x80 | UInt8(docType.utf8.count)] + Array(docType.utf8)
        return [0x1A, 0x45, 0xDF, 0xA3, 0x80 | UInt8(child.count)] + child
    }

    /// Audit of 2026-12-07: an H.264 Matroska file named `.webm` was stored as `video/webm`, which browsers do not
    /// play. A `.webm` must say it is WebM (its EBML DocType); `.mkv` takes either.
    @Test("WebM: the EBML DocType must be webm")
    func webmMustSayItIsWebM() async throws {
        let clips = try ClipFactory()
        defer { clips.remove() }
        let segment: [UInt8] = [0x18, 0x53, 0x80, 0x67, 0x80 | 10] + [UInt8](repeating: 1, count: 10)
        let matroska = Self.ebmlHeader(docType: "matroska") + segment
        let result = try verdict(bytes: matroska, ext: "webm", in: clips)
        #expect(isNotMedia(result))
        if case .notMedia(let detail) = result { #expect(detail.contains("not WebM"), "\(detail)") }
        #expect(try verdict(bytes: matroska, ext: "mkv", in: clips) == .ok)
        #expect(try verdict(bytes: Self.ebmlHeader(docType: "webm") + segment, ext: "mkv", in: clips) == .ok)
        // The real thing, from FFmpeg's muxers.
        let h264 = try await clips.make(
            "h264.webm",
            video: "testsrc2=size=160x120:rate=25:duration=1",
            options: ["-c:v", "libx264", "-preset", "ultrafast", "-f", "matroska"]
        )
        #expect(isNotMedia(try verdict(h264, ext: "webm")))
        let vp9 = try await clips.make(
            "vp9.webm",
            video: "testsrc2=size=160x120:rate=25:duration=1",
            options: ["-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8"]
        )
        #expect(try verdict(vp9, ext: "webm") == .ok)
    }
}
