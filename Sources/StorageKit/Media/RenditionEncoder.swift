import CFFmpeg
import IngestConfig

/// What `RenditionEncoder.encode` wrote.
public struct EncodedRendition: Sendable, Equatable {
    public var width: Int
    public var height: Int
    /// `h264` or `vp9`.
    public var videoCodec: String
    /// `aac` or `opus`; nil when the source has no audio.
    public var audioCodec: String?
    /// Video frames encoded.
    public var frames: Int
}

/// Makes web-playable renditions in-process with libavformat, libavcodec, libswscale and libswresample:
/// decode, show the picture as displayed (rotation and sample aspect applied, square pixels, 8-bit 4:2:0),
/// scale to the step's size, encode H.264 High + AAC into MP4 with `moov` first, or VP9 + Opus into WebM.
public struct RenditionEncoder: Sendable {
    /// The output container and codecs.
    public var container: RenditionContainer
    /// Decoder and encoder threads (`FFMPEG_THREADS`).
    public var threads: Int

    /// Makes an encoder writing `container` files with at most `threads` threads per codec.
    public init(container: RenditionContainer, threads: Int) {
        self.container = container
        self.threads = max(1, threads)
    }

    /// The renditions `ladder` makes of the video at `path` (see `RenditionGeometry.plan`), read with the
    /// container `formatName` an earlier probe recorded (probed when nil). `shouldAbort` is polled during I/O: a
    /// stop interrupts the reading of a slow or crafted file (`.interrupted`). Errors name the file `displayName`
    /// (the user's name for it; the path's last component when nil).
    /// - Throws: `.notMedia`, `.noVideo`, `.interrupted`.
    public static func plan(
        path: String,
        displayName: String? = nil,
        ladder: [RenditionStep],
        formatName: String? = nil,
        shouldAbort: @escaping @Sendable () -> Bool = { false }
    ) throws(MediaError) -> [RenditionGeometry.Step] {
        let input = try MediaInput(
            path: path,
            displayName: displayName,
            interrupter: Interrupter(shouldAbort: shouldAbort),
            format: formatName
        )
        let stream = try input.requireVideoStream()
        guard let parameters = stream.pointee.codecpar?.pointee else {
            throw MediaError(.noVideo, "\(input.displayName) has no video codec parameters.")
        }
        let aspect = av_guess_sample_aspect_ratio(input.context, stream, nil)
        let geometry = RenditionGeometry(
            codedWidth: Int(parameters.width),
            codedHeight: Int(parameters.height),
            sampleAspect: aspect.num > 0 && aspect.den > 0 ? Double(aspect.num) / Double(aspect.den) : 1,
            rotation: DisplayRotation.clockwiseDegrees(of: stream)
        )
        return geometry.plan(ladder)
    }

    /// Encodes the video at `path` as `step` into the file `output` (created or truncated). On any error the
    /// partial file is left for the caller to remove; the caller renames a finished one into place.
    ///
    /// - Parameters:
    ///   - shouldAbort: polled during I/O and between frames; returning true stops the work (`.interrupted`).
    ///   - progress: called after each video frame with the count so far (on the calling thread).
    ///   - formatName: the container as an earlier probe recorded it; probed when nil.
    ///   - displayName: the source as errors name it (the user's name for it; the path's last component when nil).
    /// - Throws: `.notMedia`, `.noVideo`, `.decodeFailed` (the source does not decode, or an encoder or the
    ///   muxer failed), `.interrupted`, `.timedOut`.
    public func encode(
        path: String,
        displayName: String? = nil,
        step: RenditionGeometry.Step,
        to output: String,
        shouldAbort: @escaping @Sendable () -> Bool = { false },
        timeLimit: Duration? = nil,
        formatName: String? = nil
    ) throws(MediaError) -> EncodedRendition {
        let interrupter = Interrupter(shouldAbort: shouldAbort, timeLimit: timeLimit)
        let input = try MediaInput(path: path, displayName: displayName, interrupter: interrupter, format: formatName)
        let videoStream = try input.requireVideoStream()
        let audioStream = input.audioStream(relatedTo: videoStream)
        for stream in input.streams where stream != videoStream && stream != audioStream {
            stream.pointee.discard = AVDISCARD_ALL
        }
        let start = input.context.pointee.start_time
        let origin = start == CFFmpeg_AV_NOPTS_VALUE() ? 0 : start
        let muxer = try EncoderMuxer(path: output, formatName: container.muxerName, interrupter: interrupter)
        let video = try EncoderVideoPath(
            stream: videoStream,
            step: step,
            rotation: DisplayRotation.clockwiseDegrees(of: videoStream),
            container: container,
            threads: threads,
            origin: av_rescale_q(origin, CFFmpeg_AV_TIME_BASE_Q(), videoStream.pointee.time_base),
            discontinuous: input.context.pointee.iformat.pointee.flags & AVFMT_TS_DISCONT != 0,
            muxer: muxer
        )
        let audio = try audioStream.map { stream throws(MediaError) in
            try EncoderAudioPath(
                stream: stream,
                container: container,
                origin: av_rescale_q(origin, CFFmpeg_AV_TIME_BASE_Q(), stream.pointee.time_base),
                muxer: muxer
            )
        }
        try muxer.writeHeader()

        let packet = try AVPacketBox()
        while true {
            try interrupter.check("encoding the rendition")
            let read = av_read_frame(input.context, packet.pointer)
            if read < 0 {
                if interrupter.firedReason != nil { throw interrupter.error("reading the source") }
                break  // the end, or an unreadable tail: what was read is encoded
            }
            defer { av_packet_unref(packet.pointer) }
            let index = packet.pointer.pointee.stream_index
            if index == videoStream.pointee.index {
                try video.send(packet.pointer, into: muxer, interrupter: interrupter)
            } else if let audio, let audioStream, index == audioStream.pointee.index {
                try audio.send(packet.pointer, into: muxer)
            }
        }
        try video.send(nil, into: muxer, interrupter: interrupter)
        try audio?.send(nil, into: muxer)
        try interrupter.check("finishing the rendition")
        try muxer.finish()
        return EncodedRendition(
            width: step.width,
            height: step.height,
            videoCodec: container.videoCodecName,
            audioCodec: audio == nil ? nil : container.audioCodecName,
            frames: video.framesEncoded
        )
    }
}
