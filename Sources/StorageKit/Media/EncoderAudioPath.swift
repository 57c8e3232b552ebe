import CFFmpeg

/// The audio side of a rendition: decodes the source's first audio stream, resamples it with libswresample to
/// the encoder's format (at most two channels) and encodes it (AAC, or Opus at 48 kHz) in the encoder's
/// frame size, through an `AVAudioFifo`.
final class EncoderAudioPath {
    private let stream: UnsafeMutablePointer<AVStream>
    private let decoder: StreamDecoder
    let encoder: EncoderCodec
    private let decoded: AVFrameBox
    private let converted: AVFrameBox
    private let chunk: AVFrameBox
    private var resampler: OpaquePointer?
    private let fifo: OpaquePointer
    private let frameSize: Int32
    /// The source timestamp that is 0 in the rendition, in the audio stream's time base.
    private let origin: Int64
    /// The next output frame's timestamp, in samples; set from the first decoded frame.
    private var nextSample: Int64?
    /// Where the last packet read ends (`pts + duration`, in the stream's time base); nil when it did not say.
    private var packetEnd: Int64?
    /// The samples in the last decoded frame, at the source's rate.
    private var lastFrameSamples: Int32 = 0
    private var failures = DecodeFailures()

    init(
        stream: UnsafeMutablePointer<AVStream>,
        container: RenditionContainer,
        origin: Int64,
        muxer: EncoderMuxer
    )
        throws(MediaError)
    {
        self.stream = stream
        self.origin = origin
        decoder = try StreamDecoder(stream: stream, threads: 1)
        decoded = try AVFrameBox()
        converted = try AVFrameBox()
        chunk = try AVFrameBox()
        encoder = try EncoderCodec(named: container.audioEncoder)
        let context = encoder.context
        let sourceChannels = max(1, Int(decoder.context.pointee.ch_layout.nb_channels))
        let channels = Int32(min(2, sourceChannels))
        av_channel_layout_default(&context.pointee.ch_layout, channels)
        context.pointee.sample_fmt = Self.sampleFormat(of: encoder.codec)
        context.pointee.sample_rate = Self.sampleRate(source: decoder.context.pointee.sample_rate, codec: encoder.codec)
        context.pointee.time_base = AVRational(num: 1, den: context.pointee.sample_rate)
        context.pointee.bit_rate = channels == 1 ? 96_000 : 128_000
        try encoder.open(options: [], muxer: muxer)
        frameSize = context.pointee.frame_size > 0 ? context.pointee.frame_size : 1024
        guard let fifo = av_audio_fifo_alloc(context.pointee.sample_fmt, channels, frameSize * 4) else {
            throw MediaError(.decodeFailed, "av_audio_fifo_alloc: out of memory.")
        }
        self.fifo = fifo
    }

    deinit {
        av_audio_fifo_free(fifo)
        swr_free(&resampler)
    }

    /// Planar float when the encoder takes it (AAC), else packed float (libopus), else its first format.
    private static func sampleFormat(of codec: UnsafePointer<AVCodec>?) -> AVSampleFormat {
        guard let list = codec?.pointee.sample_fmts else { return AV_SAMPLE_FMT_FLTP }
        var formats: [AVSampleFormat] = []
        var index = 0
        while list[index] != AV_SAMPLE_FMT_NONE, index < 32 {
            formats.append(list[index])
            index += 1
        }
        for preferred in [AV_SAMPLE_FMT_FLTP, AV_SAMPLE_FMT_FLT] where formats.contains(preferred) { return preferred }
        return formats.first ?? AV_SAMPLE_FMT_FLTP
    }

    /// The source's rate when the encoder supports it, else 48 kHz (always 48 kHz for Opus).
    private static func sampleRate(source: Int32, codec: UnsafePointer<AVCodec>?) -> Int32 {
        guard let list = codec?.pointee.supported_samplerates else { return source > 0 ? source : 48_000 }
        var index = 0
        while list[index] != 0, index < 64 {
            if list[index] == source { return source }
            index += 1
        }
        return 48_000
    }

    /// Decodes `packet` (nil: the end of the stream) and encodes every full frame of samples.
    func send(_ packet: UnsafeMutablePointer<AVPacket>?, into muxer: EncoderMuxer) throws(MediaError) {
        if let packet {
            let pts = packet.pointee.pts
            // Numbers from the file: a sum that overflows says nothing.
            let (end, overflow) = pts.addingReportingOverflow(packet.pointee.duration)
            packetEnd = pts != CFFmpeg_AV_NOPTS_VALUE() && packet.pointee.duration > 0 && !overflow ? end : nil
        }
        let sent = avcodec_send_packet(decoder.context, packet)
        if sent < 0 && !FFmpegError.isEndOfFile(sent) { try noteFailure(sent, "avcodec_send_packet") }
        while true {
            let received = avcodec_receive_frame(decoder.context, decoded.pointer)
            if FFmpegError.isAgain(received) || FFmpegError.isEndOfFile(received) { break }
            guard received >= 0 else {
                try noteFailure(received, "avcodec_receive_frame")
                continue
            }
            defer { av_frame_unref(decoded.pointer) }
            lastFrameSamples = decoded.pointer.pointee.nb_samples
            try resample(decoded.pointer)
            try drain(into: muxer, final: false)
        }
        if packet == nil {
            if resampler != nil { try resample(nil) }
            try drain(into: muxer, final: true)
            try encoder.encode(nil, into: muxer)
        }
    }

    /// Converts `frame` (nil: what the resampler still holds) into the FIFO.
    private func resample(_ frame: UnsafeMutablePointer<AVFrame>?) throws(MediaError) {
        let context = encoder.context
        if let frame, resampler == nil {
            var input = frame.pointee.ch_layout
            var defaultLayout = AVChannelLayout()
            if input.order == AV_CHANNEL_ORDER_UNSPEC || input.nb_channels <= 0 {
                av_channel_layout_default(&defaultLayout, max(1, frame.pointee.ch_layout.nb_channels))
                input = defaultLayout
            }
            let status = swr_alloc_set_opts2(
                &resampler,
                &context.pointee.ch_layout,
                context.pointee.sample_fmt,
                context.pointee.sample_rate,
                &input,
                AVSampleFormat(rawValue: frame.pointee.format),
                frame.pointee.sample_rate,
                0,
                nil
            )
            guard status >= 0, swr_init(resampler) >= 0 else {
                throw .ffmpeg(
                    .decodeFailed,
                    "libswresample cannot convert the audio",
                    code: status,
                    function: "swr_alloc_set_opts2"
                )
            }
            if nextSample == nil {
                let timestamp = frame.pointee.best_effort_timestamp
                let start = timestamp == CFFmpeg_AV_NOPTS_VALUE() ? 0 : timestamp &- origin
                nextSample = max(0, av_rescale_q(start, stream.pointee.time_base, context.pointee.time_base))
            }
        }
        guard let resampler else { return }
        let capacity = swr_get_out_samples(resampler, frame.map { $0.pointee.nb_samples } ?? 0)
        guard capacity > 0 else { return }
        try allocateEncoderFrame(converted, samples: capacity)
        let made = swr_convert(
            resampler,
            converted.pointer.pointee.extended_data,
            capacity,
            frame.map { UnsafeMutablePointer<UnsafePointer<UInt8>?>(OpaquePointer($0.pointee.extended_data)) },
            frame.map { $0.pointee.nb_samples } ?? 0
        )
        guard made >= 0 else {
            throw .ffmpeg(.decodeFailed, "libswresample failed", code: made, function: "swr_convert")
        }
        guard made > 0 else { return }
        let data = UnsafeMutablePointer<UnsafeMutableRawPointer?>(
            OpaquePointer(converted.pointer.pointee.extended_data)
        )
        guard av_audio_fifo_write(fifo, data, made) == made else {
            throw MediaError(.decodeFailed, "av_audio_fifo_write: out of memory.")
        }
    }

    /// Gives `frame` fresh buffers for `samples` samples in the encoder's format, rate and channel layout.
    private func allocateEncoderFrame(_ frame: AVFrameBox, samples: Int32) throws(MediaError) {
        let context = encoder.context
        av_frame_unref(frame.pointer)
        frame.pointer.pointee.nb_samples = samples
        frame.pointer.pointee.format = context.pointee.sample_fmt.rawValue
        frame.pointer.pointee.sample_rate = context.pointee.sample_rate
        av_channel_layout_copy(&frame.pointer.pointee.ch_layout, &context.pointee.ch_layout)
        guard av_frame_get_buffer(frame.pointer, 0) >= 0 else {
            throw MediaError(.decodeFailed, "av_frame_get_buffer: out of memory for audio.")
        }
    }

    /// The last decoded frame's samples at the encoder's rate: `drain` keeps that many back until the end, when
    /// `padding()` may cut them short.
    private var lastFrameLength: Int64 {
        let sourceRate = Int64(max(1, decoder.context.pointee.sample_rate))
        return av_rescale(Int64(lastFrameSamples), Int64(encoder.context.pointee.sample_rate), sourceRate)
    }

    /// The samples at the end of the FIFO that lie past the end of the source's last packet: a decoder hands out
    /// whole frames, the AAC one the encoder's padding of the last (FFmpeg 5.1's mov demuxer does not mark it
    /// for discarding). At most the last decoded frame's worth, so that timestamps that disagree with the sample
    /// count cost no more than that; 0 when the last packet had no duration.
    private func padding() -> Int32 {
        guard let packetEnd, let nextSample else { return 0 }
        let end = av_rescale_q(packetEnd &- origin, stream.pointee.time_base, encoder.context.pointee.time_base)
        let excess = nextSample &+ Int64(av_audio_fifo_size(fifo)) &- end
        return excess > 0 && excess <= lastFrameLength ? Int32(clamping: excess) : 0
    }

    /// Encodes whole frames from the FIFO but the last decoded frame's worth of samples; with `final`, all of it
    /// but the `padding()` (the last frame shorter), and empties the FIFO.
    private func drain(into muxer: EncoderMuxer, final: Bool) throws(MediaError) {
        defer { if final { av_audio_fifo_reset(fifo) } }
        let tail = final ? padding() : Int32(clamping: lastFrameLength)
        while av_audio_fifo_size(fifo) - tail >= frameSize || (final && av_audio_fifo_size(fifo) - tail > 0) {
            let count = min(frameSize, av_audio_fifo_size(fifo) - tail)
            try allocateEncoderFrame(chunk, samples: count)
            let data = UnsafeMutablePointer<UnsafeMutableRawPointer?>(
                OpaquePointer(chunk.pointer.pointee.extended_data)
            )
            guard av_audio_fifo_read(fifo, data, count) == count else {
                throw MediaError(.decodeFailed, "av_audio_fifo_read failed.")
            }
            let sample = nextSample ?? 0
            chunk.pointer.pointee.pts = sample
            nextSample = sample &+ Int64(count)
            try encoder.encode(chunk.pointer, into: muxer)
        }
    }

    private func noteFailure(_ code: Int32, _ function: String) throws(MediaError) {
        try failures.note(FFmpegError(code: code, function: function).description, of: "audio")
    }
}
