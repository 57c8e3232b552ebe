import Foundation
import TestSupport

/// Makes small media files for tests with the ffmpeg CLI (guaranteed by scripts/install-deps.sh) in a fresh
/// temporary directory. Call `remove()` when done.
struct ClipFactory {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("media-tests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    func remove() {
        try? FileManager.default.removeItem(at: directory)
    }

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// Runs `ffmpeg -nostdin -y -loglevel error ARGS`, returning stdout; throws with stderr on failure.
    @discardableResult
    static func ffmpeg(_ arguments: [String]) async throws -> Data {
        let run = try await HelperPrograms.run(
            "/usr/bin/ffmpeg",
            ["-nostdin", "-y", "-hide_banner", "-loglevel", "error"] + arguments
        )
        guard run.status == 0 else {
            throw Failure(description: "ffmpeg \(arguments.joined(separator: " ")) failed: " + run.stderrText)
        }
        return Data(run.stdout)
    }

    /// Encodes lavfi `video` (and optional lavfi `audio`) into `name` with extra output `options`.
    @discardableResult
    func make(_ name: String, video: String?, audio: String? = nil, options: [String]) async throws -> String {
        var arguments: [String] = []
        if let video { arguments += ["-f", "lavfi", "-i", video] }
        if let audio { arguments += ["-f", "lavfi", "-i", audio] }
        arguments += options + [path(name)]
        try await Self.ffmpeg(arguments)
        return path(name)
    }

    /// 2 s of 320×180 testsrc2 at 25 fps in h264, with 48 kHz stereo AAC.
    func h264WithAudio(_ name: String = "clip.mp4") async throws -> String {
        try await make(
            name,
            video: "testsrc2=size=320x180:rate=25:duration=2",
            audio: "sine=frequency=440:sample_rate=48000:duration=2",
            options: [
                "-ac", "2", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac",
                "-shortest",
            ]
        )
    }

    /// 2 s of 320×180 h264 without audio in MP4, whatever `name` ends in; `extraFilters` are appended to the
    /// lavfi source (e.g. `,setsar=2`).
    func h264VideoOnly(_ name: String = "video-only.mp4", extraFilters: String = "") async throws -> String {
        try await make(
            name,
            video: "testsrc2=size=320x180:rate=25:duration=2" + extraFilters,
            options: ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-f", "mp4"]
        )
    }

    /// 2 s of a 48 kHz mono sine in AAC, no video.
    func audioOnly(_ name: String = "audio-only.mp4") async throws -> String {
        try await make(
            name,
            video: nil,
            audio: "sine=frequency=440:sample_rate=48000:duration=2",
            options: ["-c:a", "aac"]
        )
    }

    /// 1 s of 320×240 testsrc in AVI with `codec` (`mjpeg` or `mpeg4`), whatever `name` ends in.
    func avi(_ name: String, codec: String) async throws -> String {
        // -f avi: the name may end in something else (an AVI disguised as .mp4).
        var options = ["-c:v", codec, "-f", "avi"]
        if codec == "mjpeg" { options += ["-pix_fmt", "yuvj420p", "-q:v", "5"] }
        return try await make(name, video: "testsrc=size=320x240:rate=25:duration=1", options: options)
    }

    /// A 320×180 mid-grey picture with a white bar along its left edge, stored so that players turn it
    /// `clockwise` degrees for display. The bar makes the turn visible: after 90° clockwise it is at the top.
    ///
    /// FFmpeg 5.1's mov muxer reads the `rotate` tag as counter-clockwise degrees (it writes a display matrix
    /// with `av_display_rotation_get` equal to the tag, and ffmpeg's autorotate then turns the picture
    /// counter-clockwise), so the tag written is `360 - clockwise`. The tag only takes effect on a stream
    /// copy, hence the remux.
    func rotated(_ name: String, clockwise: Int) async throws -> String {
        let plain = try await make(
            "plain-\(name)",
            video: "color=c=0x606060:size=320x180:rate=25:duration=1,"
                + "drawbox=x=0:y=0:w=40:h=ih:color=white:t=fill",
            options: ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
        )
        try await Self.ffmpeg([
            "-i", plain, "-c", "copy", "-metadata:s:v:0", "rotate=\((360 - clockwise) % 360)", path(name),
        ])
        return path(name)
    }

    /// 3 s of h264 whose first 1.2 s (40 %) are black and the rest testsrc2; one keyframe at the start.
    func blackThenBright(_ name: String = "black-then-bright.mp4") async throws -> String {
        try await make(
            name,
            video: "testsrc2=size=320x180:rate=25:duration=3,"
                + "drawbox=x=0:y=0:w=iw:h=ih:color=black:t=fill:enable='lt(t,1.2)'",
            options: ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "250"]
        )
    }

    /// `count` random bytes named `name`.
    func garbage(_ name: String, count: Int = 64 * 1024) throws -> String {
        // Fixed bytes: random ones now and then look enough like some container to FFmpeg's probe.
        var generator = SeededRandom(state: 0x1D_6E57)
        let bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
        try Data(bytes).write(to: URL(fileURLWithPath: path(name)))
        return path(name)
    }

    /// The first `fraction` of `source`'s bytes, as a half-finished copy would leave it.
    func truncatedCopy(of source: String, named name: String, fraction: Double) throws -> String {
        let data = try Data(contentsOf: URL(fileURLWithPath: source))
        try data.prefix(Int(Double(data.count) * fraction)).write(to: URL(fileURLWithPath: path(name)))
        return path(name)
    }

    /// `source` followed by `count` zero bytes, as a copier that preallocates the file leaves it mid-copy.
    func zeroPadded(_ source: String, named name: String, count: Int) throws -> String {
        var data = try Data(contentsOf: URL(fileURLWithPath: source))
        data.append(Data(count: count))
        try data.write(to: URL(fileURLWithPath: path(name)))
        return path(name)
    }

    /// An h264 MP4 with its index first (`+faststart`) whose `mdat` payload is overwritten with random bytes:
    /// libavformat probes it happily, but no frame decodes.
    func corruptedVideoPayload(_ name: String = "corrupt.mp4") async throws -> String {
        let good = try await make(
            "good-\(name)",
            video: "testsrc2=size=320x180:rate=25:duration=2",
            options: ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-movflags", "+faststart"]
        )
        var data = try Data(contentsOf: URL(fileURLWithPath: good))
        guard let range = data.range(of: Data("mdat".utf8)) else {
            throw Failure(description: "no mdat box in \(good)")
        }
        var generator = SeededRandom(state: 0x2C_0FFE)  // the same noise on every run
        for index in range.upperBound..<data.count { data[index] = UInt8.random(in: 0...255, using: &generator) }
        try data.write(to: URL(fileURLWithPath: path(name)))
        return path(name)
    }

    /// Decodes the JPEG `bytes` with the ffmpeg CLI to 8-bit grey pixels (row-major) plus its size.
    func decodeGrey(jpeg bytes: [UInt8]) async throws -> (pixels: [UInt8], width: Int, height: Int) {
        let file = path("decoded-\(UUID().uuidString).jpg")
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        let probe = try await Self.ffmpeg(["-i", file, "-f", "rawvideo", "-pix_fmt", "gray", "-"])
        let sizeText = try await Self.probeSize(file)
        return ([UInt8](probe), sizeText.width, sizeText.height)
    }

    /// Width and height of the first video stream of `file`, by ffprobe.
    static func probeSize(_ file: String) async throws -> (width: Int, height: Int) {
        let run = try await HelperPrograms.run(
            "/usr/bin/ffprobe",
            ["-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height", "-of", "csv=p=0", file]
        )
        let fields = run.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
            .split(separator: ",").compactMap { Int($0) }
        guard fields.count == 2 else { throw Failure(description: "ffprobe gave no size for \(file)") }
        return (fields[0], fields[1])
    }
}

/// Mean of `pixels` rows `rows` of a `width`-wide grey picture.
func meanLuma(_ pixels: [UInt8], width: Int, rows: Range<Int>) -> Double {
    let slice = pixels[(rows.lowerBound * width)..<(rows.upperBound * width)]
    return Double(slice.reduce(0) { $0 + Int($1) }) / Double(max(slice.count, 1))
}
