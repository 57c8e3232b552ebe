import CFFmpeg

/// Renders a JPEG thumbnail of a video in-process: libavformat seeks near 10 % of the duration, libavcodec
/// decodes the frame at the keyframe there, libswscale scales it and FFmpeg's MJPEG encoder writes the JPEG.
/// Nearly black, white or flat frames are passed over for later candidates (20 %, 30 %, 50 %).
public struct ThumbnailRenderer: Sendable {
    /// Thumbnail width in pixels; the height follows the displayed aspect ratio, rounded to an even number.
    public var width: Int
    /// Decoder threads per render.
    public var decoderThreads: Int

    /// Where candidate frames are looked for, as fractions of the duration.
    static let candidateFractions = [0.1, 0.2, 0.3, 0.5]
    /// Candidate times in seconds when the duration is unknown.
    static let candidateSecondsWithoutDuration = [0.0, 1.0, 2.0, 4.0]

    /// Makes a renderer for thumbnails `width` pixels wide decoding with `decoderThreads` threads.
    public init(width: Int = 320, decoderThreads: Int = 2) {
        self.width = width
        self.decoderThreads = decoderThreads
    }

    /// Renders the thumbnail of the video at `path`, drawn as displayed (rotation and sample aspect ratio
    /// applied).
    ///
    /// - Parameters:
    ///   - displayName: the file as the user named it; error details speak of it, never of `path`. Defaults
    ///     to `path`'s last component.
    ///   - durationHint: the duration from an earlier probe, in seconds; read from the file when nil.
    ///   - shouldAbort: polled during I/O and between packets; returning true stops the work (`.interrupted`).
    ///   - timeLimit: the work stops with `.timedOut` once this much time has passed.
    ///   - formatName: libavformat's name for the container from an earlier probe (`mov,mp4,m4a,3gp,3g2,mj2`);
    ///     its demuxer then reads the file without probing it again. Probed when nil.
    /// - Throws: `.notMedia`, `.noVideo`, `.decodeFailed` (no frame could be decoded, or conversion failed),
    ///   `.interrupted` or `.timedOut`. No image is ever made up.
    public func render(
        path: String,
        displayName: String? = nil,
        durationHint: Double? = nil,
        shouldAbort: @escaping @Sendable () -> Bool = { false },
        timeLimit: Duration = .seconds(30),
        formatName: String? = nil
    ) throws(MediaError) -> Thumbnail {
        guard width >= 2 else { throw MediaError(.decodeFailed, "Thumbnail width \(width) is too small.") }
        let interrupter = Interrupter(shouldAbort: shouldAbort, timeLimit: timeLimit)
        let input = try MediaInput(path: path, displayName: displayName, interrupter: interrupter, format: formatName)
        let stream = try input.requireVideoStream()
        let rotation = DisplayRotation.clockwiseDegrees(of: stream)
        let decoder = try StreamDecoder(stream: stream, threads: decoderThreads)
        let reader = try VideoFrameReader(input: input, stream: stream, decoder: decoder)
        var picked = try pickFrame(
            reader: reader,
            input: input,
            stream: stream,
            rotation: rotation,
            duration: durationHint ?? input.durationSeconds
        )
        if picked == nil, reader.rejectedPackets == 0 {
            // Containers without an index (MPEG-TS, PS) seek to a packet, not a keyframe (with B-frames, one
            // after the first keyframe even for time zero): a clip with a single keyframe then decodes
            // nothing. Start again from the first byte.
            picked = try pickFrame(
                reader: reader,
                input: input,
                stream: stream,
                rotation: rotation,
                duration: nil,
                fromStart: true
            )
        }
        guard let picked else {
            let reason = reader.lastFailure.map { " The last error was \($0)." } ?? ""
            throw MediaError(
                .decodeFailed,
                "No frame of the \(decoder.codecName) video in \(input.displayName) could be decoded "
                    + "(\(reader.rejectedPackets) packets or frames rejected).\(reason)"
            )
        }
        try interrupter.check("encoding the thumbnail")
        let upright: AVFrameBox
        if rotation == 0 {
            upright = picked
        } else {
            upright = try AVFrameBox()
            let turned = rotation == 180
            try upright.allocate(
                width: Int(turned ? picked.pointer.pointee.width : picked.pointer.pointee.height),
                height: Int(turned ? picked.pointer.pointee.height : picked.pointer.pointee.width),
                format: AV_PIX_FMT_YUVJ420P
            )
            PictureRotation.rotate(picked.pointer, clockwise: rotation, into: upright.pointer)
        }
        let jpeg = try JPEGEncoder.encode(upright.pointer)
        return Thumbnail(
            jpeg: jpeg,
            width: Int(upright.pointer.pointee.width),
            height: Int(upright.pointer.pointee.height)
        )
    }

    /// Decodes the candidate frames and returns the first informative one, scaled (not yet rotated), or the
    /// best one seen; nil when no frame decodes.
    private func pickFrame(
        reader: VideoFrameReader,
        input: MediaInput,
        stream: UnsafeMutablePointer<AVStream>,
        rotation: Int,
        duration: Double?,
        fromStart: Bool = false
    ) throws(MediaError) -> AVFrameBox? {
        let times: [Double]
        if let duration, duration > 0 {
            times = Self.candidateFractions.map { $0 * duration }
        } else {
            times = Self.candidateSecondsWithoutDuration
        }
        let scaler = FrameScaler()
        var sdr: SDRConverter?
        var scratch = try AVFrameBox()
        var best: (frame: AVFrameBox, statistics: LumaStatistics)?
        var lastTimestamp: Int64?
        for (index, seconds) in times.enumerated() {
            let target = reader.timestamp(atSeconds: seconds)
            if let lastTimestamp, lastTimestamp >= target { continue }
            // Jump to the keyframe at or before the target when that moves us forward: its first frame is the
            // cheap candidate. Otherwise decode on from where we are up to the target.
            var notBefore: Int64? = nil
            let keyframe = reader.keyframe(atOrBefore: target)
            let seekHelps = index == 0 || (keyframe.map { key in lastTimestamp.map { key > $0 } ?? true } ?? false)
            if fromStart && index == 0 {
                guard try reader.rewind() else { return nil }
                notBefore = nil
            } else if seekHelps, try reader.seek(toKeyframeAtOrBefore: target) {
                notBefore = index == 0 ? nil : lastTimestamp.map { $0 + 1 }
            } else {
                notBefore = target
            }
            guard let frame = try reader.nextFrame(notBefore: notBefore) else { break }
            lastTimestamp =
                frame.pointee.best_effort_timestamp == CFFmpeg_AV_NOPTS_VALUE()
                ? target : frame.pointee.best_effort_timestamp
            let size = try scaledSize(of: frame, input: input, stream: stream, rotation: rotation)
            if scratch.pointer.pointee.width != Int32(clamping: size.width)
                || scratch.pointer.pointee.height != Int32(clamping: size.height)
                || scratch.pointer.pointee.buf.0 == nil
            {
                try scratch.allocate(width: size.width, height: size.height, format: AV_PIX_FMT_YUVJ420P)
            }
            let prepared = try prepare(frame, size: size, sdr: &sdr)
            try scaler.scale(prepared?.pointer ?? frame, into: scratch.pointer)
            av_frame_unref(frame)
            let statistics = LumaStatistics(of: scratch.pointer)
            if statistics.isInformative { return scratch }
            if best.map({ statistics > $0.statistics }) ?? true {
                let previous = best?.frame
                best = (scratch, statistics)
                if let previous { scratch = previous } else { scratch = try AVFrameBox() }
            }
        }
        return best?.frame
    }

    /// A decoded frame made fit for libswscale, or nil when it already is: interlaced pictures are
    /// deinterlaced (estdif: edge-directed interpolation within one field, since a single frame has no
    /// neighbours to compare with) and HDR, wide-gamut or BT.709-matrix pictures are converted to 8-bit SDR
    /// with JPEG's BT.601 matrix at `size` by an ``SDRConverter``.
    private func prepare(
        _ frame: UnsafeMutablePointer<AVFrame>,
        size: (width: Int, height: Int),
        sdr: inout SDRConverter?
    ) throws(MediaError) -> AVFrameBox? {
        var current: AVFrameBox?
        if frame.pointee.interlaced_frame != 0 {
            current = try VideoFilterGraph.applyOnce("estdif=mode=frame:parity=auto:deint=all", to: frame)
        }
        let picture = current?.pointer ?? frame
        if SDRConverter.needsConversion(picture) || !Self.hasJPEGMatrix(picture) {
            let converter = sdr ?? SDRConverter(output: .jpeg, threads: decoderThreads)
            sdr = converter
            current = try converter.convert(picture, width: size.width, height: size.height)
        }
        return current
    }

    /// Whether the picture's YCbCr uses the BT.601 matrix JPEG decoders assume (or says nothing, which
    /// libswscale and FFmpeg's tools also take as BT.601). libswscale 6 cannot change the matrix of YCbCr, so
    /// a BT.709 picture goes through zscale instead of having its colours shifted.
    static func hasJPEGMatrix(_ frame: UnsafePointer<AVFrame>) -> Bool {
        switch frame.pointee.colorspace {
        case AVCOL_SPC_BT709, AVCOL_SPC_SMPTE240M, AVCOL_SPC_FCC, AVCOL_SPC_BT2020_NCL, AVCOL_SPC_BT2020_CL: false
        default: true
        }
    }

    /// The tallest displayed shape a thumbnail is drawn for: height at most this many times the width.
    static let maxHeightPerWidth = 16

    /// The size to scale a decoded frame to before it is turned by `rotation`, so that after turning it is
    /// `width` wide and as high as the displayed aspect ratio says, rounded to an even number. The sizes and
    /// the sample aspect ratio come from the file: the math never traps, and a displayed shape taller than
    /// ``maxHeightPerWidth`` to 1 (a crafted `pasp` of 1:32767, say) is refused with a reason.
    private func scaledSize(
        of frame: UnsafeMutablePointer<AVFrame>,
        input: MediaInput,
        stream: UnsafeMutablePointer<AVStream>,
        rotation: Int
    ) throws(MediaError) -> (width: Int, height: Int) {
        let aspect = av_guess_sample_aspect_ratio(input.context, stream, frame)
        let sampleAspect = aspect.num > 0 && aspect.den > 0 ? Double(aspect.num) / Double(aspect.den) : 1
        var displayWidth = Double(frame.pointee.width) * sampleAspect
        var displayHeight = Double(frame.pointee.height)
        if rotation == 90 || rotation == 270 { swap(&displayWidth, &displayHeight) }
        let heightPerWidth = displayHeight / displayWidth
        guard heightPerWidth.isFinite, heightPerWidth > 0, heightPerWidth <= Double(Self.maxHeightPerWidth) else {
            let pixels = aspect.num > 0 && aspect.den > 0 ? " with pixels \(aspect.num):\(aspect.den) (wide:high)" : ""
            throw MediaError(
                .decodeFailed,
                "The \(frame.pointee.width)×\(frame.pointee.height) picture\(pixels) would be displayed more than "
                    + "\(Self.maxHeightPerWidth) times as high as wide; no thumbnail is drawn for such a shape."
            )
        }
        // 0 < heightPerWidth <= 16 and `width` is THUMBNAIL_WIDTH, so the product is small; still clamp.
        let exact = (Double(width) * heightPerWidth / 2).rounded()
        let height = max(2, Int(min(exact, Double(Int32.max / 4))) * 2)
        return rotation == 90 || rotation == 270 ? (height, width) : (width, height)
    }
}
