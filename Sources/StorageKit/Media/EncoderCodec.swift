import CFFmpeg

/// An opened encoder: owns its `AVCodecContext` and hands encoded packets to a muxer stream.
final class EncoderCodec {
    let context: UnsafeMutablePointer<AVCodecContext>
    let name: String
    private let packet: AVPacketBox
    private(set) var streamIndex: Int32 = -1

    /// Allocates a context for the encoder called `name` (`libx264`, `aac`, `libvpx-vp9`, `libopus`); the
    /// caller configures it and then calls `open`.
    init(named name: String) throws(MediaError) {
        guard let codec = avcodec_find_encoder_by_name(name) else {
            throw MediaError(.decodeFailed, "This FFmpeg build has no \(name) encoder.")
        }
        guard let context = avcodec_alloc_context3(codec) else {
            throw MediaError(.decodeFailed, "avcodec_alloc_context3: out of memory.")
        }
        self.context = context
        self.name = name
        packet = try AVPacketBox()
    }

    deinit {
        var owned: UnsafeMutablePointer<AVCodecContext>? = context
        avcodec_free_context(&owned)
    }

    /// The encoder's own description (its supported formats and rates).
    var codec: UnsafePointer<AVCodec>? { context.pointee.codec }

    /// Opens the encoder with private `options` and adds its stream to `muxer`.
    func open(options: [(String, String)], muxer: EncoderMuxer) throws(MediaError) {
        if muxer.wantsGlobalHeader { context.pointee.flags |= Int32(AV_CODEC_FLAG_GLOBAL_HEADER) }
        var dictionary: OpaquePointer?
        defer { av_dict_free(&dictionary) }
        for (key, value) in options { av_dict_set(&dictionary, key, value, 0) }
        let opened = avcodec_open2(context, context.pointee.codec, &dictionary)
        guard opened >= 0 else {
            throw .ffmpeg(.decodeFailed, "Cannot open the \(name) encoder", code: opened, function: "avcodec_open2")
        }
        streamIndex = try muxer.addStream(for: context)
    }

    /// Sends `frame` (nil: end of stream) and writes every packet the encoder has ready.
    func encode(_ frame: UnsafeMutablePointer<AVFrame>?, into muxer: EncoderMuxer) throws(MediaError) {
        let sent = avcodec_send_frame(context, frame)
        guard sent >= 0 || (frame == nil && FFmpegError.isEndOfFile(sent)) else {
            throw .ffmpeg(
                .decodeFailed,
                "The \(name) encoder refused a frame",
                code: sent,
                function: "avcodec_send_frame"
            )
        }
        while true {
            let received = avcodec_receive_packet(context, packet.pointer)
            if FFmpegError.isAgain(received) || FFmpegError.isEndOfFile(received) { return }
            guard received >= 0 else {
                throw .ffmpeg(
                    .decodeFailed,
                    "The \(name) encoder failed",
                    code: received,
                    function: "avcodec_receive_packet"
                )
            }
            defer { av_packet_unref(packet.pointer) }
            try muxer.write(packet.pointer, stream: streamIndex, timeBase: context.pointee.time_base)
        }
    }
}
