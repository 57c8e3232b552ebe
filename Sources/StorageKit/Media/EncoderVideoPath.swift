import CFFmpeg

/// The video side of a rendition: decodes the source stream, turns each picture as displayed (deinterlaced,
/// HDR tone-mapped, scaled to square pixels, rotated, 8-bit 4:2:0) and encodes it (H.264 High with libx264, or VP9 with libvpx).
final class EncoderVideoPath {
    private let stream: UnsafeMutablePointer<AVStream>
    private let decoder: StreamDecoder
    let encoder: EncoderCodec
    private let rotation: Int
    private let scaler = FrameScaler()
    /// Made on the first HDR or wide-gamut picture: libswscale would get its colours wrong.
    private var sdr: SDRConverter?
    /// Made on the first interlaced picture: yadif weaves both fields into one frame without combing.
    private var deinterlacer: VideoFilterGraph?
    private let deinterlaced: AVFrameBox
    private let filterThreads: Int
    private let decoded: AVFrameBox
    private let scaled: AVFrameBox
    private let turned: AVFrameBox
    /// The source timestamp that becomes 0 in the rendition (the container's start).
    private let origin: Int64
    /// Makes the pictures' timestamps grow whatever the source's do.
    private var timeline: RenditionTimeline
    /// One frame at the stream's frame rate, in its time base: how long a picture lasts whose packet did not say.
    private let frameDuration: Int64
    private(set) var framesEncoded = 0
    private var failures = DecodeFailures()

    init(
        stream: UnsafeMutablePointer<AVStream>,
        step: RenditionGeometry.Step,
        rotation: Int,
        container: RenditionContainer,
        threads: Int,
        origin: Int64,
        discontinuous: Bool,
        muxer: EncoderMuxer
    ) throws(MediaError) {
        self.stream = stream
        self.rotation = rotation
        self.origin = origin
        timeline = RenditionTimeline(
            origin: origin,
            ticksPerSecond: av_rescale_q(1, AVRational(num: 1, den: 1), stream.pointee.time_base),
            discontinuous: discontinuous
        )
        filterThreads = threads
        decoder = try StreamDecoder(stream: stream, threads: threads)
        decoded = try AVFrameBox()
        deinterlaced = try AVFrameBox()
        scaled = try AVFrameBox()
        turned = try AVFrameBox()
        let quarter = rotation == 90 || rotation == 270
        try scaled.allocate(
            width: quarter ? step.height : step.width,
            height: quarter ? step.width : step.height,
            format: AV_PIX_FMT_YUV420P
        )
        if rotation != 0 { try turned.allocate(width: step.width, height: step.height, format: AV_PIX_FMT_YUV420P) }

        encoder = try EncoderCodec(named: container.videoEncoder)
        let context = encoder.context
        context.pointee.width = Int32(step.width)
        context.pointee.height = Int32(step.height)
        context.pointee.pix_fmt = AV_PIX_FMT_YUV420P
        context.pointee.sample_aspect_ratio = AVRational(num: 1, den: 1)
        context.pointee.time_base = stream.pointee.time_base
        let rate = Self.frameRate(of: stream)
        context.pointee.framerate = rate
        // At most 10 s: a crafted frame rate (1/1000000 passes `frameRate(of:)`) must not stretch a picture.
        let longest = av_rescale_q(10, AVRational(num: 1, den: 1), stream.pointee.time_base)
        frameDuration = max(
            1,
            min(longest, av_rescale_q(1, AVRational(num: rate.den, den: rate.num), stream.pointee.time_base))
        )
        let fps = Double(rate.num) / Double(rate.den)
        // A keyframe every two seconds, no more and no less: players and segmenters can cut there.
        let gop = Int32(max(1, min(600, (2 * fps).rounded())))
        context.pointee.gop_size = gop
        context.pointee.keyint_min = gop
        context.pointee.thread_count = Int32(max(1, threads))
        context.pointee.color_range = AVCOL_RANGE_MPEG
        Self.copyColour(from: stream, to: context)
        let cap = RenditionContainer.maximumBitRate(shorterSide: min(step.width, step.height))
        var options: [(String, String)]
        switch container {
        case .mp4:
            // Constant quality (CRF) under a VBV cap of `cap` over a two-second buffer.
            context.pointee.rc_max_rate = Int64(cap)
            context.pointee.rc_buffer_size = Int32(clamping: 2 * cap)
            options = [("preset", "veryfast"), ("crf", "23"), ("profile", "high"), ("x264-params", "scenecut=0")]
        case .webm:
            // Constrained quality: CRF with `b` as the ceiling.
            context.pointee.bit_rate = Int64(cap)
            options = [("crf", "33"), ("deadline", "good"), ("cpu-used", "5"), ("row-mt", "1")]
        }
        try encoder.open(options: options, muxer: muxer)
    }

    /// The stream's frame rate, or 25 fps when the container does not say.
    static func frameRate(of stream: UnsafeMutablePointer<AVStream>) -> AVRational {
        for rate in [stream.pointee.avg_frame_rate, stream.pointee.r_frame_rate]
        where rate.num > 0 && rate.den > 0 && Double(rate.num) / Double(rate.den) <= 240 {
            return rate
        }
        return AVRational(num: 25, den: 1)
    }

    /// BT.709 unless the source says otherwise; HDR transfers are not carried over (the picture is SDR now).
    private static func copyColour(
        from stream: UnsafeMutablePointer<AVStream>,
        to context: UnsafeMutablePointer<AVCodecContext>
    ) {
        context.pointee.color_primaries = AVCOL_PRI_BT709
        context.pointee.color_trc = AVCOL_TRC_BT709
        context.pointee.colorspace = AVCOL_SPC_BT709
        guard let parameters = stream.pointee.codecpar?.pointee else { return }
        let hdr =
            parameters.color_trc == AVCOL_TRC_SMPTE2084 || parameters.color_trc == AVCOL_TRC_ARIB_STD_B67
            || parameters.color_primaries == AVCOL_PRI_BT2020
        guard !hdr else { return }
        if parameters.color_space == AVCOL_SPC_BT470BG || parameters.color_space == AVCOL_SPC_SMPTE170M {
            // Standard-definition sources keep their matrix: swscale does not change it.
            context.pointee.colorspace = parameters.color_space
            context.pointee.color_primaries =
                parameters.color_primaries == AVCOL_PRI_UNSPECIFIED
                ? AVCOL_PRI_SMPTE170M : parameters.color_primaries
            context.pointee.color_trc =
                parameters.color_trc == AVCOL_TRC_UNSPECIFIED
                ? AVCOL_TRC_SMPTE170M : parameters.color_trc
        }
    }

    /// Decodes `packet` (nil: the end of the stream) and encodes every frame it yields.
    func send(
        _ packet: UnsafeMutablePointer<AVPacket>?,
        into muxer: EncoderMuxer,
        interrupter: Interrupter
    )
        throws(MediaError)
    {
        let sent = avcodec_send_packet(decoder.context, packet)
        if sent < 0 && !FFmpegError.isEndOfFile(sent) {
            try noteFailure(FFmpegError(code: sent, function: "avcodec_send_packet").description)
        }
        while true {
            let received = avcodec_receive_frame(decoder.context, decoded.pointer)
            if FFmpegError.isAgain(received) || FFmpegError.isEndOfFile(received) { break }
            guard received >= 0 else {
                try noteFailure(FFmpegError(code: received, function: "avcodec_receive_frame").description)
                continue
            }
            defer { av_frame_unref(decoded.pointer) }
            if decoded.pointer.pointee.decode_error_flags != 0
                || decoded.pointer.pointee.flags & AV_FRAME_FLAG_CORRUPT != 0
            {
                try noteFailure("the \(decoder.codecName) decoder marked a frame as corrupt")
                continue
            }
            try interrupter.check("encoding the rendition")
            if deinterlacer == nil, decoded.pointer.pointee.interlaced_frame != 0 {
                deinterlacer = try VideoFilterGraph(
                    filters: "yadif=mode=send_frame:parity=auto:deint=interlaced",
                    input: .init(of: decoded.pointer),
                    threads: filterThreads
                )
            }
            if let deinterlacer {
                try deinterlacer.send(decoded.pointer)
                try drainDeinterlacer(into: muxer)
            } else {
                try encode(decoded.pointer, into: muxer)
            }
        }
        if packet == nil {
            if let deinterlacer {
                try deinterlacer.finish()
                try drainDeinterlacer(into: muxer)
            }
            try encoder.encode(nil, into: muxer)
            guard framesEncoded > 0 else {
                let reason = failures.last.map { " The last error was \($0)." } ?? ""
                throw MediaError(.decodeFailed, "No frame of the \(decoder.codecName) video could be decoded.\(reason)")
            }
        }
    }

    /// Encodes every picture the deinterlacer has ready.
    private func drainDeinterlacer(into muxer: EncoderMuxer) throws(MediaError) {
        guard let deinterlacer else { return }
        while try deinterlacer.receive(into: deinterlaced.pointer) {
            try encode(deinterlaced.pointer, into: muxer)
            av_frame_unref(deinterlaced.pointer)
        }
    }

    private func encode(_ frame: UnsafeMutablePointer<AVFrame>, into muxer: EncoderMuxer) throws(MediaError) {
        // The encoder may still hold the previous picture's buffers: write into fresh ones if so.
        guard av_frame_make_writable(scaled.pointer) >= 0,
            rotation == 0 || av_frame_make_writable(turned.pointer) >= 0
        else { throw MediaError(.decodeFailed, "av_frame_make_writable: out of memory.") }
        var upright = scaled.pointer
        var converted: AVFrameBox?
        if SDRConverter.needsConversion(frame) {
            // HDR (PQ, HLG) or BT.2020: tone-mapped to 8-bit SDR BT.709 at the scaled size by zscale.
            let converter = sdr ?? SDRConverter(output: .video, threads: filterThreads)
            sdr = converter
            converted = try converter.convert(
                frame,
                width: Int(scaled.pointer.pointee.width),
                height: Int(scaled.pointer.pointee.height)
            )
            upright = converted!.pointer
        } else {
            try scaler.scale(frame, into: scaled.pointer)
        }
        let output: UnsafeMutablePointer<AVFrame>
        if rotation != 0 {
            PictureRotation.rotate(upright, clockwise: rotation, into: turned.pointer)
            output = turned.pointer
        } else {
            output = upright
        }
        defer { withExtendedLifetime(converted) {} }
        var source = frame.pointee.best_effort_timestamp
        if source == CFFmpeg_AV_NOPTS_VALUE() { source = frame.pointee.pts }
        // Each picture lasts as long as in the source (the encoder's time base is the stream's), so that the
        // last one does too.
        let duration = frame.pointee.pkt_duration > 0 ? frame.pointee.pkt_duration : frameDuration
        let timestamp = try timeline.place(source == CFFmpeg_AV_NOPTS_VALUE() ? nil : source, duration: duration)
        output.pointee.pts = timestamp &- origin
        output.pointee.pkt_duration = duration
        output.pointee.pict_type = AV_PICTURE_TYPE_NONE
        output.pointee.color_range = AVCOL_RANGE_MPEG
        try encoder.encode(output, into: muxer)
        framesEncoded += 1
    }

    private func noteFailure(_ failure: String) throws(MediaError) {
        try failures.note(failure, of: "\(decoder.codecName) video")
    }
}
