import CFFmpeg

/// Reads a file's media facts in-process with libavformat (no `ffprobe` process).
public enum MediaProbe {
    /// How long reading a file's headers and stream info may take: milliseconds for any real file.
    public static let timeLimit: Duration = .seconds(60)

    /// Opens `path`, reads its stream info and fills the SPEC's metadata.
    ///
    /// - Parameter displayName: the file as the user named it (`project/relative/name` in the drop, or the
    ///   upload's name); error details speak of it, never of `path`. Defaults to `path`'s last component.
    /// - Throws: `.notMedia` when libavformat cannot open or identify the file; `.noVideo` when it opens but has
    ///   no video stream (`ProbeResult` is then not returned, so callers can reject the file as `no_video`).
    ///   - timeLimit: a file whose headers take longer than this to read (a crafted container can make
    ///     libavformat search for streams a long time) fails with `.timedOut`, and a reason that says so.
    public static func probe(
        path: String,
        displayName: String? = nil,
        timeLimit: Duration = MediaProbe.timeLimit
    ) throws(MediaError) -> ProbeResult {
        let input: MediaInput
        do {
            input = try MediaInput(
                path: path,
                displayName: displayName,
                interrupter: Interrupter(timeLimit: timeLimit),
                needsPixelFormat: true
            )
        } catch  where error.kind == .timedOut {
            let name = displayName ?? MediaInput.lastComponent(of: path)
            throw MediaError(
                .timedOut,
                "Reading the streams of \(name) took longer than \(timeLimit.components.seconds) s; it is refused as unreadable."
            )
        }
        let result = describe(input)
        guard result.hasVideo else {
            throw MediaError(.noVideo, "\(input.displayName) has no video stream (format \(result.formatName)).")
        }
        return result
    }

    /// Builds the probe result of an opened input, whether or not it has video.
    static func describe(_ input: MediaInput) -> ProbeResult {
        var metadata = MediaMetadata()
        let formatName = input.formatName
        metadata.formatName = formatName.isEmpty ? nil : formatName
        metadata.durationSeconds = input.durationSeconds
        let bitRate = input.context.pointee.bit_rate
        if bitRate > 0 { metadata.bitRate = Int(bitRate) }

        let video = input.videoStream
        if let video, let parameters = video.pointee.codecpar?.pointee {
            if parameters.width > 0 { metadata.width = Int(parameters.width) }
            if parameters.height > 0 { metadata.height = Int(parameters.height) }
            metadata.rotation = DisplayRotation.clockwiseDegrees(of: video)
            metadata.videoCodec = codecName(parameters.codec_id)
            metadata.frameRate = frameRate(of: video)
        }
        MediaTags.read(input, video: video, into: &metadata)
        let audio = input.audioStream(relatedTo: video)
        if let audio, let parameters = audio.pointee.codecpar?.pointee {
            metadata.audioCodec = codecName(parameters.codec_id)
            if parameters.sample_rate > 0 { metadata.sampleRate = Int(parameters.sample_rate) }
            if parameters.ch_layout.nb_channels > 0 { metadata.channels = Int(parameters.ch_layout.nb_channels) }
        }
        return ProbeResult(
            metadata: metadata,
            hasVideo: video != nil,
            hasAudio: audio != nil,
            formatName: formatName,
            durationSeconds: metadata.durationSeconds
        )
    }

    /// True when libavformat's demuxer `formatName` is what a file with extension `ext` should contain
    /// (see ``MediaFormats/formatMatchesExtension(formatName:ext:)``).
    public static func formatMatchesExtension(formatName: String, ext: String) -> Bool {
        MediaFormats.formatMatchesExtension(formatName: formatName, ext: ext)
    }

    /// The SPEC's MIME type for an extension (see ``MediaFormats/mimeType(forExtension:)``), nil if unknown.
    public static func mimeType(forExtension ext: String) -> String? {
        MediaFormats.mimeType(forExtension: ext)
    }

    private static func codecName(_ id: AVCodecID) -> String? {
        guard let name = avcodec_get_name(id) else { return nil }
        return String(cString: name)
    }

    private static func frameRate(of stream: UnsafeMutablePointer<AVStream>) -> Double? {
        for rate in [stream.pointee.avg_frame_rate, stream.pointee.r_frame_rate] where rate.num > 0 && rate.den > 0 {
            return Double(rate.num) / Double(rate.den)
        }
        return nil
    }
}
