import CFFmpeg

/// An output container being written (`mp4` with `moov` first, or `webm`): owns its `AVFormatContext` and
/// the file's `AVIOContext`. Closing without `finish()` leaves a partial file that the caller removes.
final class EncoderMuxer {
    let context: UnsafeMutablePointer<AVFormatContext>
    private let interrupter: Interrupter
    private var headerWritten = false
    private let path: String

    /// Opens `path` for writing as `formatName` (`mp4` or `webm`); FFmpeg's I/O polls `interrupter`.
    init(path: String, formatName: String, interrupter: Interrupter) throws(MediaError) {
        FFmpegLog.installDefault()
        self.interrupter = interrupter
        self.path = path
        var allocated: UnsafeMutablePointer<AVFormatContext>?
        let status = avformat_alloc_output_context2(&allocated, nil, formatName, path)
        guard status >= 0, let allocated else {
            throw .ffmpeg(
                .decodeFailed,
                "This FFmpeg build cannot write \(formatName)",
                code: status,
                function: "avformat_alloc_output_context2"
            )
        }
        allocated.pointee.interrupt_callback = AVIOInterruptCB(
            callback: { opaque in
                guard let opaque else { return 0 }
                return Unmanaged<Interrupter>.fromOpaque(opaque).takeUnretainedValue().shouldStop() ? 1 : 0
            },
            opaque: Unmanaged.passUnretained(interrupter).toOpaque()
        )
        var io: UnsafeMutablePointer<AVIOContext>?
        var callback = allocated.pointee.interrupt_callback
        let opened = avio_open2(&io, path, AVIO_FLAG_WRITE, &callback, nil)
        guard opened >= 0, let io else {
            avformat_free_context(allocated)
            throw .ffmpeg(.decodeFailed, "Cannot create the rendition file", code: opened, function: "avio_open2")
        }
        allocated.pointee.pb = io
        context = allocated
    }

    deinit {
        if context.pointee.pb != nil { avio_closep(&context.pointee.pb) }
        avformat_free_context(context)
    }

    /// Whether encoders must put their parameter sets in `extradata` (MP4 and WebM both want it).
    var wantsGlobalHeader: Bool { (context.pointee.oformat?.pointee.flags ?? 0) & AVFMT_GLOBALHEADER != 0 }

    /// Adds a stream described by the opened `encoder`; returns its index.
    func addStream(for encoder: UnsafeMutablePointer<AVCodecContext>) throws(MediaError) -> Int32 {
        guard let stream = avformat_new_stream(context, nil) else {
            throw MediaError(.decodeFailed, "avformat_new_stream: out of memory.")
        }
        try MediaError.check(
            avcodec_parameters_from_context(stream.pointee.codecpar, encoder),
            "Cannot describe the output stream",
            function: "avcodec_parameters_from_context"
        )
        stream.pointee.time_base = encoder.pointee.time_base
        return stream.pointee.index
    }

    /// Writes the header; MP4 gets `movflags=+faststart` so that `moov` precedes `mdat` once finished.
    func writeHeader() throws(MediaError) {
        var options: OpaquePointer?
        defer { av_dict_free(&options) }
        if String(cString: context.pointee.oformat.pointee.name).contains("mp4") {
            av_dict_set(&options, "movflags", "+faststart", 0)
        }
        try interrupter.check(
            avformat_write_header(context, &options),
            while: "writing the rendition header",
            "Cannot write the rendition header",
            function: "avformat_write_header"
        )
        headerWritten = true
    }

    /// Writes one encoded packet whose timestamps are in `timeBase`; the packet is consumed.
    func write(_ packet: UnsafeMutablePointer<AVPacket>, stream index: Int32, timeBase: AVRational) throws(MediaError) {
        guard let stream = context.pointee.streams[Int(index)] else { return }
        packet.pointee.stream_index = index
        av_packet_rescale_ts(packet, timeBase, stream.pointee.time_base)
        try interrupter.check(
            av_interleaved_write_frame(context, packet),
            while: "writing the rendition",
            "Cannot write to the rendition file",
            function: "av_interleaved_write_frame"
        )
    }

    /// Writes the trailer (for MP4 this moves `moov` to the front) and closes the file.
    func finish() throws(MediaError) {
        guard headerWritten else { return }
        try interrupter.check(
            av_write_trailer(context),
            while: "finishing the rendition",
            "Cannot finish the rendition file",
            function: "av_write_trailer"
        )
        try MediaError.check(
            avio_closep(&context.pointee.pb),
            "Cannot close the rendition file",
            function: "avio_closep"
        )
    }
}
