import Foundation

/// The generated corpus of issue 12: one short clip per container and codec people drop, made once per test
/// run with the ffmpeg CLI and shared read-only.
enum MediaCorpus {
    /// One clip of the corpus.
    struct Clip: Sendable, CustomStringConvertible {
        /// File name, whose extension is what the file promises.
        var name: String
        /// Video codec FFmpeg reports.
        var videoCodec: String
        /// ffmpeg arguments after the inputs (output options, without the file name).
        var options: [String]
        /// Extra lavfi inputs besides the picture (audio, a cover).
        var extraInputs: [String] = []
        /// The lavfi picture.
        var picture = "testsrc2=size=320x240:rate=25:duration=1"

        var description: String { name }
        var ext: String { (name as NSString).pathExtension.lowercased() }
    }

    static let sine = ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=1"]
    static let x264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]

    /// Every container and codec of the issue's list that must end `ready`.
    static let playable: [Clip] = [
        Clip(
            name: "vp9-opus.webm",
            videoCodec: "vp9",
            options: [
                "-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "300k",
                "-c:a", "libopus", "-shortest",
            ],
            extraInputs: sine
        ),
        Clip(
            name: "h264-subtitled.mkv",
            videoCodec: "h264",
            options: ["-map", "0:v", "-map", "1:a", "-map", "2:s"] + x264
                + [
                    "-c:a", "aac", "-c:s", "srt", "-attach", "@SRT@", "-metadata:s:t", "mimetype=text/plain",
                    "-shortest",
                ],
            extraInputs: sine + ["-i", "@SRT@"]
        ),
        Clip(name: "av1.mkv", videoCodec: "av1", options: ["-c:v", "libsvtav1", "-preset", "12"]),
        Clip(
            name: "mpeg2.ts",
            videoCodec: "mpeg2video",
            options: ["-c:v", "mpeg2video", "-q:v", "4", "-c:a", "mp2", "-shortest", "-f", "mpegts"],
            extraInputs: sine
        ),
        Clip(
            name: "h264.m2ts",
            videoCodec: "h264",
            options: x264 + ["-c:a", "aac", "-shortest", "-f", "mpegts", "-mpegts_m2ts_mode", "1"],
            extraInputs: sine
        ),
        Clip(
            name: "mpeg1.mpg",
            videoCodec: "mpeg1video",
            options: ["-c:v", "mpeg1video", "-q:v", "4", "-c:a", "mp2", "-shortest", "-f", "mpeg"],
            extraInputs: sine
        ),
        Clip(name: "h264.m4v", videoCodec: "h264", options: x264 + ["-f", "mp4"]),
        Clip(
            name: "phone.3gp",
            videoCodec: "h264",
            options: x264 + [
                "-c:a", "aac", "-ar", "16000", "-shortest",
                "-metadata", "location=+60.1699+024.9384/", "-f", "3gp",
            ],
            extraInputs: sine,
            picture: "testsrc2=size=176x144:rate=15:duration=1"
        ),
        Clip(
            name: "prores.mov",
            videoCodec: "prores",
            options: ["-c:v", "prores_ks", "-profile:v", "0", "-pix_fmt", "yuv422p10le"]
        ),
        Clip(
            name: "dnxhr.mov",
            videoCodec: "dnxhd",
            options: ["-c:v", "dnxhd", "-profile:v", "dnxhr_lb", "-pix_fmt", "yuv422p"]
        ),
        Clip(name: "mjpeg.avi", videoCodec: "mjpeg", options: ["-c:v", "mjpeg", "-pix_fmt", "yuvj420p", "-q:v", "5"]),
        Clip(
            name: "timecode.mov",
            videoCodec: "h264",
            options: x264 + [
                "-timecode", "01:00:00:00", "-metadata", "make=Canon", "-metadata", "model=EOS R5",
                "-metadata", "location=+35.6586+139.7454/", "-metadata", "creation_time=2025-12-24T18:00:00Z",
            ]
        ),
        Clip(name: "h264.flv", videoCodec: "h264", options: x264 + ["-c:a", "aac", "-shortest"], extraInputs: sine),
        Clip(
            name: "wmv2.wmv",
            videoCodec: "wmv2",
            options: ["-c:v", "wmv2", "-c:a", "wmav2", "-shortest"],
            extraInputs: sine
        ),
        Clip(name: "iphone-hlg.MOV", videoCodec: "hevc", options: hlgOptions, picture: hlgPicture),
        Clip(name: "hdr10-pq.mkv", videoCodec: "hevc", options: pqOptions, picture: hlgPicture),
        Clip(
            name: "interlaced.ts",
            videoCodec: "mpeg2video",
            options: ["-c:v", "mpeg2video", "-q:v", "2", "-flags", "+ilme+ildct", "-top", "1", "-f", "mpegts"],
            picture: stripes
        ),
    ]

    /// The flat BT.709 colour the HLG clip carries; its thumbnail must show it again.
    static let hlgColour: (r: Int, g: Int, b: Int) = (192, 48, 32)
    static let hlgPicture = "color=c=0xC03020:size=320x240:rate=25:duration=0.5"
    /// 10-bit HEVC, BT.2020 HLG, tagged like an iPhone's recording.
    static let hlgOptions = [
        "-vf",
        "format=gbrpf32le,zscale=tin=bt709:min=bt709:pin=bt709:rin=full:t=arib-std-b67:p=bt2020:m=bt2020nc:r=tv,"
            + "format=yuv420p10le",
        "-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=none", "-pix_fmt", "yuv420p10le",
        "-color_primaries", "bt2020", "-color_trc", "arib-std-b67", "-colorspace", "bt2020nc", "-tag:v", "hvc1",
        "-movflags", "use_metadata_tags", "-metadata", "com.apple.quicktime.make=Apple",
        "-metadata", "com.apple.quicktime.model=iPhone 15 Pro",
        "-metadata", "com.apple.quicktime.location.ISO6709=+48.8577+002.2950+035.000/",
        "-metadata", "com.apple.quicktime.creationdate=2026-05-01T14:34:56+0200",
        "-metadata", "creation_time=2026-05-01T12:34:56.000000Z",
    ]
    /// 10-bit HEVC, BT.2020 PQ (HDR10) with SDR white at 100 cd/m², in Matroska.
    static let pqOptions = [
        "-vf",
        "format=gbrpf32le,zscale=tin=bt709:min=bt709:pin=bt709:rin=full:t=smpte2084:p=bt2020:m=bt2020nc:r=tv:"
            + "npl=100,format=yuv420p10le",
        "-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=none", "-pix_fmt", "yuv420p10le",
        "-color_primaries", "bt2020", "-color_trc", "smpte2084", "-colorspace", "bt2020nc",
    ]
    /// Alternate white and black lines: combing shows as stripes, a deinterlaced picture is even.
    static let stripes =
        "color=c=white:size=320x240:rate=25:duration=1,format=gray,geq=lum='if(mod(Y\\,2)\\,16\\,235)',format=yuv420p"

    /// AAC audio with a PNG cover (an attached picture), in MP4: not a video.
    static let coverArt = Clip(
        name: "song-with-cover.mp4",
        videoCodec: "png",
        options: [
            "-map", "1:a", "-map", "0:v", "-c:a", "aac", "-c:v", "png", "-disposition:v", "attached_pic",
            "-shortest",
        ],
        extraInputs: sine,
        picture: "testsrc2=size=200x200:rate=1:duration=1"
    )

    static let directory: String = {
        let dir = NSTemporaryDirectory() + "ingestd-media-corpus-\(getpid())"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }()

    /// Makes each clip once, however many tests ask for it at the same time.
    private static let maker = Maker()

    /// The clip's path, made on first use.
    static func path(_ clip: Clip) async throws -> String {
        try await maker.path(clip)
    }

    /// The first `fraction` of the clip, named like it with a `cut-` prefix.
    static func cut(_ clip: Clip, fraction: Double = 0.6) async throws -> String {
        let source = try await path(clip)
        return try await maker.cut(source, named: "cut-\(Int(fraction * 100))-" + clip.name, fraction: fraction)
    }

    /// The corpus directory's one writer. It is free while ffmpeg runs (a lock held there would keep the threads
    /// of the cooperative pool of every other test asking for a clip waiting); a clip being made is awaited by
    /// whoever else asks for it, and made again by the next one to ask if it failed.
    private actor Maker {
        private var making: [String: Task<String, any Error>] = [:]

        func path(_ clip: Clip) async throws -> String {
            let path = directory + "/" + clip.name
            if FileManager.default.fileExists(atPath: path) { return path }
            if let task = making[clip.name] { return try await task.value }
            let subtitles = directory + "/subtitles.srt"
            if !FileManager.default.fileExists(atPath: subtitles) {
                try "1\n00:00:00,000 --> 00:00:00,900\nHello\n".write(
                    toFile: subtitles,
                    atomically: true,
                    encoding: .utf8
                )
            }
            let task = Task {
                let replace = { (argument: String) in argument == "@SRT@" ? subtitles : argument }
                let temporary = directory + "/making-" + clip.name
                try await ClipFactory.ffmpeg(
                    ["-f", "lavfi", "-i", clip.picture] + clip.extraInputs.map(replace) + clip.options.map(replace)
                        + [temporary]
                )
                try FileManager.default.moveItem(atPath: temporary, toPath: path)
                return path
            }
            making[clip.name] = task
            defer { making[clip.name] = nil }  // made (the file exists) or failed (the next test tries again)
            return try await task.value
        }

        func cut(_ source: String, named name: String, fraction: Double) throws -> String {
            let target = directory + "/" + name
            if !FileManager.default.fileExists(atPath: target) {
                let data = try Data(contentsOf: URL(fileURLWithPath: source))
                try data.prefix(Int(Double(data.count) * fraction)).write(to: URL(fileURLWithPath: target))
            }
            return target
        }
    }
}
