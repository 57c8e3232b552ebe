import CFFmpeg

/// Encodes one `yuvj420p` picture to a complete JPEG file with FFmpeg's MJPEG encoder.
enum JPEGEncoder {
    /// JPEG quantizer scale: 2 is best, 31 worst; 3 matches `ffmpeg -q:v 3`.
    static let quality: Int32 = 3
    /// The JPEG standard's Huffman tables (Annex K) instead of FFmpeg's default, tables made for each picture:
    /// those take a second pass over the coefficients, a quarter of the encode, to save about a tenth of the
    /// bytes. The pixels are the same either way (Huffman coding is lossless).
    static let huffmanTables = "default"

    static func encode(_ frame: UnsafeMutablePointer<AVFrame>) throws(MediaError) -> [UInt8] {
        guard let codec = avcodec_find_encoder(AV_CODEC_ID_MJPEG) else {
            throw MediaError(.decodeFailed, "This FFmpeg build has no MJPEG encoder.")
        }
        guard let context = avcodec_alloc_context3(codec) else {
            throw MediaError(.decodeFailed, "avcodec_alloc_context3: out of memory.")
        }
        var owned: UnsafeMutablePointer<AVCodecContext>? = context
        defer { avcodec_free_context(&owned) }
        context.pointee.width = frame.pointee.width
        context.pointee.height = frame.pointee.height
        context.pointee.pix_fmt = AV_PIX_FMT_YUVJ420P
        context.pointee.time_base = AVRational(num: 1, den: 25)
        // A fixed quantizer (qscale) instead of rate control: the encoder reads it from the frame.
        context.pointee.flags |= Int32(AV_CODEC_FLAG_QSCALE)
        context.pointee.global_quality = Int32(FF_QP2LAMBDA) * quality
        // Only a matter of speed: a build without the option keeps its own tables, and the JPEG is as good.
        _ = av_opt_set(context.pointee.priv_data, "huffman", huffmanTables, 0)
        let opened = avcodec_open2(context, codec, nil)
        guard opened >= 0 else {
            throw .ffmpeg(.decodeFailed, "Cannot open the MJPEG encoder", code: opened, function: "avcodec_open2")
        }
        frame.pointee.quality = context.pointee.global_quality
        frame.pointee.pts = 0
        let sent = avcodec_send_frame(context, frame)
        guard sent >= 0 else {
            throw .ffmpeg(
                .decodeFailed,
                "The MJPEG encoder refused the picture",
                code: sent,
                function: "avcodec_send_frame"
            )
        }
        let packet = try AVPacketBox()
        let received = avcodec_receive_packet(context, packet.pointer)
        guard received >= 0, let data = packet.pointer.pointee.data, packet.pointer.pointee.size > 0 else {
            throw .ffmpeg(
                .decodeFailed,
                "The MJPEG encoder produced no picture",
                code: received,
                function: "avcodec_receive_packet"
            )
        }
        return Array(UnsafeBufferPointer(start: data, count: Int(packet.pointer.pointee.size)))
    }
}
