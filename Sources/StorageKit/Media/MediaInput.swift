import CFFmpeg

/// An opened `AVFormatContext` (after `avformat_open_input` and `avformat_find_stream_info`), closed on deinit.
/// Its `interrupt_callback` polls an `Interrupter`, which this object keeps alive for as long as FFmpeg may
/// call it. Errors name the file by `displayName` (the user's name for it), never by its storage path.
final class MediaInput {
    let context: UnsafeMutablePointer<AVFormatContext>
    let interrupter: Interrupter
    /// The file as the user named it, for error details.
    let displayName: String

    /// Opens `path`. With `needsPixelFormat`, the video stream's pixel format is made known even where the
    /// headers describe everything else (it takes decoding the first frame). With `format` (libavformat's name
    /// for the container from an earlier probe, `mov,mp4,m4a,3gp,3g2,mj2`, or a demuxer's short name, `mov`,
    /// known to fit the file already), that demuxer reads it without probing: probing runs every demuxer of the
    /// build over the file's first bytes, which costs more than reading an MP4's headers. The name is obeyed: a
    /// stored file is read as the ingest probe found it, or not at all (no second guess by another demuxer). A
    /// name this build does not know probes.
    init(
        path: String,
        displayName: String? = nil,
        interrupter: Interrupter,
        needsPixelFormat: Bool = false,
        format: String? = nil
    )
        throws(MediaError)
    {
        FFmpegLog.installDefault()
        self.interrupter = interrupter
        let name = displayName ?? MediaInput.lastComponent(of: path)
        self.displayName = name
        let demuxer = format.flatMap(MediaFormats.demuxer(ofFormatName:)).flatMap { av_find_input_format($0) }
        let (status, opened) = try Self.open(path, demuxer: demuxer, interrupter: interrupter)
        guard status >= 0, let opened else {
            if interrupter.firedReason != nil { throw interrupter.error("opening \(name)") }
            throw .ffmpeg(.notMedia, "libavformat cannot open \(name)", code: status, function: "avformat_open_input")
        }
        // Containers such as MP4/MOV and AVI describe their streams completely in their headers; decoding
        // frames to fill in what is already known would cost more than everything else ingest does.
        var complete = Self.headersAreComplete(opened)
        if complete, needsPixelFormat, !Self.pixelFormatKnown(opened), !Self.parsePixelFormats(opened) {
            // Everything but the pixel format is known and no parser told it: let libavformat decode just
            // enough to learn it, without the frame-rate analysis the headers made unnecessary.
            complete = false
            opened.pointee.fps_probe_size = 0
            _ = avformat_seek_file(opened, -1, Int64.min, 0, 0, 0)
        }
        let infoStatus = complete ? 0 : avformat_find_stream_info(opened, nil)
        if complete, opened.pointee.bit_rate <= 0, let io = opened.pointee.pb, avio_size(io) > 0 {
            // What avformat_find_stream_info would have estimated: the whole file over its duration.
            opened.pointee.bit_rate = avio_size(io) * 8 * Int64(AV_TIME_BASE) / opened.pointee.duration
        }
        guard infoStatus >= 0 else {
            // `context` is not assigned yet, so deinit will not run: close here.
            var closing: UnsafeMutablePointer<AVFormatContext>? = opened
            avformat_close_input(&closing)
            if interrupter.firedReason != nil { throw interrupter.error("reading stream info of \(name)") }
            throw .ffmpeg(
                .notMedia,
                "libavformat cannot read the streams of \(name)",
                code: infoStatus,
                function: "avformat_find_stream_info"
            )
        }
        context = opened
    }

    /// `avformat_open_input` of `path` with `demuxer` (probing when nil), its I/O interruptible by `interrupter`
    /// from the first byte; the status and, when it is not negative, the opened context.
    private static func open(
        _ path: String,
        demuxer: UnsafePointer<AVInputFormat>?,
        interrupter: Interrupter
    ) throws(MediaError) -> (Int32, UnsafeMutablePointer<AVFormatContext>?) {
        guard let allocated = avformat_alloc_context() else {
            throw MediaError(.notMedia, "avformat_alloc_context: out of memory.")
        }
        // Set the callback before opening so that even probing the file can be interrupted.
        allocated.pointee.interrupt_callback = AVIOInterruptCB(
            callback: { opaque in
                guard let opaque else { return 0 }
                return Unmanaged<Interrupter>.fromOpaque(opaque).takeUnretainedValue().shouldStop() ? 1 : 0
            },
            opaque: Unmanaged.passUnretained(interrupter).toOpaque()
        )
        var opened: UnsafeMutablePointer<AVFormatContext>? = allocated
        // On failure avformat_open_input frees the context itself and sets the pointer to nil.
        let status = avformat_open_input(&opened, path, demuxer, nil)
        return (status, opened)
    }

    /// Whether every audio and video stream's codec, size or sample layout, and the frame rate and duration
    /// are known from the headers alone.
    private static func headersAreComplete(_ context: UnsafeMutablePointer<AVFormatContext>) -> Bool {
        guard context.pointee.duration != CFFmpeg_AV_NOPTS_VALUE(), context.pointee.duration > 0,
            let list = context.pointee.streams, context.pointee.nb_streams > 0
        else { return false }
        var sawVideo = false
        for index in 0..<Int(context.pointee.nb_streams) {
            guard let stream = list[index], let parameters = stream.pointee.codecpar else { return false }
            let p = parameters.pointee
            switch p.codec_type {
            case AVMEDIA_TYPE_VIDEO:
                guard p.codec_id != AV_CODEC_ID_NONE, p.width > 0, p.height > 0,
                    stream.pointee.avg_frame_rate.num > 0, stream.pointee.avg_frame_rate.den > 0
                else { return false }
                sawVideo = true
            case AVMEDIA_TYPE_AUDIO:
                guard p.codec_id != AV_CODEC_ID_NONE, p.sample_rate > 0, p.ch_layout.nb_channels > 0 else {
                    return false
                }
            default:
                continue
            }
        }
        return sawVideo
    }

    /// Whether every video stream's pixel format is known.
    private static func pixelFormatKnown(_ context: UnsafeMutablePointer<AVFormatContext>) -> Bool {
        guard let list = context.pointee.streams else { return false }
        return (0..<Int(context.pointee.nb_streams)).allSatisfy { index in
            guard let parameters = list[index]?.pointee.codecpar?.pointee,
                parameters.codec_type == AVMEDIA_TYPE_VIDEO
            else { return true }
            return parameters.format >= 0
        }
    }

    deinit {
        var closing: UnsafeMutablePointer<AVFormatContext>? = context
        avformat_close_input(&closing)
    }

    /// The container's streams.
    var streams: [UnsafeMutablePointer<AVStream>] {
        guard let list = context.pointee.streams else { return [] }
        return (0..<Int(context.pointee.nb_streams)).compactMap { list[$0] }
    }

    /// The video stream: libavformat's best one (`av_find_best_stream`), never an attached picture (cover art
    /// is not video). When FFmpeg's choice is a cover, the largest other video stream, default ones first.
    /// Data, timecode, subtitle and attachment streams are never chosen and never in the way.
    var videoStream: UnsafeMutablePointer<AVStream>? {
        let candidates = streams.filter { stream in
            stream.pointee.codecpar?.pointee.codec_type == AVMEDIA_TYPE_VIDEO
                && stream.pointee.disposition & AV_DISPOSITION_ATTACHED_PIC == 0
        }
        let best = av_find_best_stream(context, AVMEDIA_TYPE_VIDEO, -1, -1, nil, 0)
        if best >= 0, let chosen = candidates.first(where: { $0.pointee.index == best }) { return chosen }
        return candidates.max { a, b in
            let aDefault = a.pointee.disposition & AV_DISPOSITION_DEFAULT != 0
            let bDefault = b.pointee.disposition & AV_DISPOSITION_DEFAULT != 0
            if aDefault != bDefault { return bDefault }
            return Self.area(a) < Self.area(b)
        }
    }

    /// ``videoStream``, or `.noVideo` naming the file and its format.
    func requireVideoStream() throws(MediaError) -> UnsafeMutablePointer<AVStream> {
        guard let stream = videoStream else {
            throw MediaError(.noVideo, "\(displayName) has no video stream (format \(formatName)).")
        }
        return stream
    }

    /// The audio stream: libavformat's best one, related to `video` where the container groups streams.
    func audioStream(relatedTo video: UnsafeMutablePointer<AVStream>?) -> UnsafeMutablePointer<AVStream>? {
        let best = av_find_best_stream(context, AVMEDIA_TYPE_AUDIO, -1, video?.pointee.index ?? -1, nil, 0)
        if best >= 0, let chosen = streams.first(where: { $0.pointee.index == best }) { return chosen }
        return streams.first { $0.pointee.codecpar?.pointee.codec_type == AVMEDIA_TYPE_AUDIO }
    }

    private static func area(_ stream: UnsafeMutablePointer<AVStream>) -> Int64 {
        guard let p = stream.pointee.codecpar?.pointee else { return 0 }
        return Int64(max(0, p.width)) * Int64(max(0, p.height))
    }

    /// The last `/`-separated component of `path`: the default display name, so that no folder leaks.
    static func lastComponent(of path: String) -> String {
        path.split(separator: "/", omittingEmptySubsequences: true).last.map(String.init) ?? path
    }

    /// The container duration in seconds, nil when libavformat does not know it.
    var durationSeconds: Double? {
        let duration = context.pointee.duration
        guard duration != CFFmpeg_AV_NOPTS_VALUE(), duration > 0 else { return nil }
        return Double(duration) / Double(AV_TIME_BASE)
    }

    /// libavformat's short name of the demuxer, e.g. `mov,mp4,m4a,3gp,3g2,mj2`.
    var formatName: String {
        guard let name = context.pointee.iformat?.pointee.name else { return "" }
        return String(cString: name)
    }
}
