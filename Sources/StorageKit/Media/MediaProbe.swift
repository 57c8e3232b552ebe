import CFFmpeg

/// Reads a file's media facts in-process with libavformat (no `ffprobe` process).
public enum MediaProbe {
    /// Opens `path`, reads its stream info and fills the SPEC's metadata.
    ///
    /// - Throws: `.notMedia` when libavformat cannot open or identify the file; `.noVideo` when it opens but has
    ///   no video stream (`ProbeResult` is then not returned, so callers can reject the file as `no_video`).
    public static func probe(path: String) throws(MediaError) -> ProbeResult {
        let input = try MediaInput(path: path, interrupter: Interrupter())
        let result = describe(input)
        guard result.hasVideo else {
            throw MediaError(.noVideo, "\(path) has no video stream (format \(result.formatName)).")
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

        let video = input.firstVideoStream
        if let video, let parameters = video.pointee.codecpar?.pointee {
            if parameters.width > 0 { metadata.width = Int(parameters.width) }
            if parameters.height > 0 { metadata.height = Int(parameters.height) }
            metadata.rotation = DisplayRotation.clockwiseDegrees(of: video)
            metadata.videoCodec = codecName(parameters.codec_id)
            metadata.frameRate = frameRate(of: video)
        }
        let audio = input.firstAudioStream
        if let audio, let parameters = audio.pointee.codecpar?.pointee {
            metadata.audioCodec = codecName(parameters.codec_id)
            if parameters.sample_rate > 0 { metadata.sampleRate = Int(parameters.sample_rate) }
            if parameters.ch_layout.nb_channels > 0 { metadata.channels = Int(parameters.ch_layout.nb_channels) }
        }
        return ProbeResult(
            metadata: metadata, hasVideo: video != nil, hasAudio: audio != nil, formatName: formatName,
            durationSeconds: metadata.durationSeconds)
    }

    /// True when libavformat's demuxer `formatName` is what a file with extension `ext` should contain:
    /// `mp4`/`mov` ↔ the `mov,mp4,…` demuxer, `avi` ↔ `avi`. Unknown extensions never match.
    public static func formatMatchesExtension(formatName: String, ext: String) -> Bool {
        let demuxers = Set(formatName.split(separator: ",").map { $0.lowercased() })
        switch normalizedExtension(ext) {
        case "mp4", "mov", "m4v": return demuxers.contains("mov") || demuxers.contains("mp4")
        case "avi": return demuxers.contains("avi")
        default: return false
        }
    }

    /// The SPEC's MIME type for an extension (`video/mp4`, `video/quicktime`, `video/x-msvideo`), nil if unknown.
    public static func mimeType(forExtension ext: String) -> String? {
        switch normalizedExtension(ext) {
        case "mp4", "m4v": "video/mp4"
        case "mov": "video/quicktime"
        case "avi": "video/x-msvideo"
        default: nil
        }
    }

    static func normalizedExtension(_ ext: String) -> String {
        (ext.hasPrefix(".") ? String(ext.dropFirst()) : ext).lowercased()
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
