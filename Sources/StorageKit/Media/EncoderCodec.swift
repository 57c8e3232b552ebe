import CFFmpeg

/// An opened encoder: owns its `AVCodecContext` and hands encoded packets to a muxer stream.
final class EncoderCodec {
    let context: UnsafeMutablePointer<AVCodecContext>
    let name: String
    private let packet: AVPacketBox
    private(set) var streamIndex: Int32 = -1
    /// The `pkt_duration` of each frame sent and not yet out as a packet, by its `pts`. FFmpeg 5.1's libx264
    /// and libvpx wrappers hand out packets without a duration, and the muxers take the last frame's from its
    /// packet: MP4 would give that sample no time (its edit list ends before it, and players drop it), WebM
    /// would end a frame early.
    private var durations: [Int64: Int64] = [:]

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

    /// Sends `frame` (nil: end of stream) and writes every packet the encoder has ready. A packet that comes out
    /// without a duration gets its frame's `pkt_duration` (in the encoder's time base) when that is set.
    func encode(_ frame: UnsafeMutablePointer<AVFrame>?, into muxer: EncoderMuxer) throws(MediaError) {
        if let frame, frame.pointee.pts != CFFmpeg_AV_NOPTS_VALUE(), frame.pointee.pkt_duration > 0 {
            durations[frame.pointee.pts] = frame.pointee.pkt_duration
        }
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
            if FFmpegError.isAgain(received) || FFmpegError.isEndOfFile(received) {
                if frame == nil { durations.removeAll() }
                return
            }
            guard received >= 0 else {
                throw .ffmpeg(
                    .decodeFailed,
                    "The \(name) encoder failed",
                    code: received,
                    function: "avcodec_receive_packet"
                )
            }
            defer { av_packet_unref(packet.pointer) }
            if let duration = durations.removeValue(forKey: packet.pointer.pointee.pts),
                packet.pointer.pointee.duration <= 0
            {
                packet.pointer.pointee.duration = duration
            }
            try muxer.write(packet.pointer, stream: streamIndex, timeBase: context.pointee.time_base)
        }
    }
}
