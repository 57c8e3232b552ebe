import CFFmpeg

/// Reads packets of one video stream, feeds them to its decoder and hands out decoded frames; seeks to
/// keyframes. Corrupt packets are counted, not fatal, until too many arrive.
final class VideoFrameReader {
    private let input: MediaInput
    private let stream: UnsafeMutablePointer<AVStream>
    private let decoder: StreamDecoder
    private let packet: AVPacketBox
    /// The most recently decoded frame; valid until the next call.
    let frame: AVFrameBox
    private var draining = false
    private var failures = DecodeFailures()
    /// Packets and frames rejected so far.
    var rejectedPackets: Int { failures.count }
    /// The most recent failure, for people.
    var lastFailure: String? { failures.last }

    init(input: MediaInput, stream: UnsafeMutablePointer<AVStream>, decoder: StreamDecoder) throws(MediaError) {
        self.input = input
        self.stream = stream
        self.decoder = decoder
        self.packet = try AVPacketBox()
        self.frame = try AVFrameBox()
    }

    /// Converts seconds from the stream's start to a timestamp in the stream's time base.
    func timestamp(atSeconds seconds: Double) -> Int64 {
        let base = stream.pointee.time_base
        let start = stream.pointee.start_time == CFFmpeg_AV_NOPTS_VALUE() ? 0 : stream.pointee.start_time
        guard base.num > 0, base.den > 0 else { return start }
        return Self.offset(start, bySeconds: seconds, timeBase: (num: base.num, den: base.den))
    }

    /// `start` plus `seconds` in a time base of `num/den`, clamped to `Int64`: durations and time bases come from
    /// the file, and a crafted pair (a duration of 1e10 s in a time base of 1/2^31) must not trap.
    static func offset(_ start: Int64, bySeconds seconds: Double, timeBase: (num: Int32, den: Int32)) -> Int64 {
        guard timeBase.num > 0, timeBase.den > 0, seconds.isFinite else { return start }
        let ticks = (seconds * Double(timeBase.den) / Double(timeBase.num)).rounded(.down)
        // 2^63 is exactly representable; anything at or past it (or below -2^63) is clamped.
        let clamped: Int64 =
            ticks >= 9_223_372_036_854_775_807.0 ? .max : ticks <= -9_223_372_036_854_775_808.0 ? .min : Int64(ticks)
        let (sum, overflow) = start.addingReportingOverflow(clamped)
        return overflow ? (clamped > 0 ? .max : .min) : sum
    }

    /// Converts a stream timestamp to seconds.
    func seconds(of timestamp: Int64) -> Double {
        let base = stream.pointee.time_base
        return Double(timestamp) * Double(base.num) / Double(max(base.den, 1))
    }

    /// The timestamp of the index's keyframe at or before `timestamp`, nil when the index does not say.
    func keyframe(atOrBefore timestamp: Int64) -> Int64? {
        avformat_index_get_entry_from_timestamp(stream, timestamp, AVSEEK_FLAG_BACKWARD)?.pointee.timestamp
    }

    /// Moves back to the start of the file (its first byte where the container allows it, else its first
    /// timestamp) and resets the decoder. Returns false if the container cannot seek.
    func rewind() throws(MediaError) -> Bool {
        try input.interrupter.check("seeking")
        var status = av_seek_frame(input.context, -1, 0, AVSEEK_FLAG_BYTE)
        if status < 0 {
            status = avformat_seek_file(input.context, -1, Int64.min, 0, 0, 0)
        }
        return try landed(status)
    }

    /// Moves to the keyframe at or before `timestamp` and resets the decoder. Returns false if the container
    /// cannot seek.
    func seek(toKeyframeAtOrBefore timestamp: Int64) throws(MediaError) -> Bool {
        try input.interrupter.check("seeking")
        let status = av_seek_frame(input.context, stream.pointee.index, timestamp, AVSEEK_FLAG_BACKWARD)
        return try landed(status)
    }

    /// After a seek that returned `status`: false when it failed (an interrupt is thrown), otherwise the decoder
    /// starts afresh.
    private func landed(_ status: Int32) throws(MediaError) -> Bool {
        if status < 0 {
            if input.interrupter.firedReason != nil { throw input.interrupter.error("seeking") }
            return false
        }
        avcodec_flush_buffers(decoder.context)
        draining = false
        return true
    }

    /// Decodes up to the next frame whose timestamp is at least `notBefore` (any frame when nil). Returns nil
    /// at the end of the stream; the frame is in `frame` until the next call.
    func nextFrame(notBefore: Int64? = nil) throws(MediaError) -> UnsafeMutablePointer<AVFrame>? {
        let frame = self.frame.pointer
        while true {
            let received = avcodec_receive_frame(decoder.context, frame)
            if received >= 0 {
                let timestamp = frame.pointee.best_effort_timestamp
                if frame.pointee.decode_error_flags != 0 || frame.pointee.flags & AV_FRAME_FLAG_CORRUPT != 0 {
                    try noteFailure("the \(decoder.codecName) decoder marked a frame as corrupt")
                } else if let notBefore, timestamp != CFFmpeg_AV_NOPTS_VALUE(), timestamp < notBefore {
                    // Not there yet: this frame only served as a reference for later ones.
                } else {
                    return frame
                }
                av_frame_unref(frame)
                continue
            }
            if FFmpegError.isEndOfFile(received) { return nil }
            if FFmpegError.isAgain(received) {
                // The decoder wants input; after the end-of-stream marker there is none left to give.
                if draining { return nil }
                try feedPacket()
            } else {
                // A frame failed; the next call may still produce one (bounded by DecodeFailures.limit).
                try noteFailure(FFmpegError(code: received, function: "avcodec_receive_frame").description)
            }
        }
    }

    /// Sends the next packet of the stream to the decoder, or the end-of-stream marker.
    private func feedPacket() throws(MediaError) {
        try input.interrupter.check("decoding video")
        while true {
            let read = av_read_frame(input.context, packet.pointer)
            if read < 0 {
                if input.interrupter.firedReason != nil { throw input.interrupter.error("reading video packets") }
                if !FFmpegError.isEndOfFile(read) {
                    failures.last = FFmpegError(code: read, function: "av_read_frame").description
                }
                // End of input (or an unreadable tail): let the decoder hand out the frames it still holds.
                draining = true
                let flushed = avcodec_send_packet(decoder.context, nil)
                if flushed < 0 && !FFmpegError.isEndOfFile(flushed) {
                    try noteFailure(FFmpegError(code: flushed, function: "avcodec_send_packet").description)
                }
                return
            }
            defer { av_packet_unref(packet.pointer) }
            guard packet.pointer.pointee.stream_index == stream.pointee.index else { continue }
            let sent = avcodec_send_packet(decoder.context, packet.pointer)
            if sent < 0 {
                try noteFailure(FFmpegError(code: sent, function: "avcodec_send_packet").description)
            }
            return
        }
    }

    private func noteFailure(_ failure: String) throws(MediaError) {
        try failures.note(failure, of: "\(decoder.codecName) video")
    }
}
