/// Media facts read from a stored file by libavformat. Keys a file's media lacks stay `nil`
/// and are left out of the JSON (SPEC "Asset record").
public struct MediaMetadata: Codable, Sendable, Equatable {
    /// Container duration in seconds.
    public var durationSeconds: Double?
    /// libavformat's `iformat->name`, e.g. `mov,mp4,m4a,3gp,3g2,mj2`.
    public var formatName: String?
    /// Container bit rate in bits per second.
    public var bitRate: Int?
    /// Coded frame width of the first video stream.
    public var width: Int?
    /// Coded frame height of the first video stream.
    public var height: Int?
    /// Degrees the picture turns clockwise for display: 0, 90, 180 or 270. Present whenever there is video.
    public var rotation: Int?
    /// Codec name of the first video stream (`h264`, `mpeg4`, …).
    public var videoCodec: String?
    /// Average frame rate of the first video stream.
    public var frameRate: Double?
    /// Codec name of the first audio stream.
    public var audioCodec: String?
    /// Sample rate of the first audio stream, Hz.
    public var sampleRate: Int?
    /// Channel count of the first audio stream.
    public var channels: Int?

    public init(
        durationSeconds: Double? = nil, formatName: String? = nil, bitRate: Int? = nil,
        width: Int? = nil, height: Int? = nil, rotation: Int? = nil, videoCodec: String? = nil,
        frameRate: Double? = nil, audioCodec: String? = nil, sampleRate: Int? = nil, channels: Int? = nil
    ) {
        self.durationSeconds = durationSeconds
        self.formatName = formatName
        self.bitRate = bitRate
        self.width = width
        self.height = height
        self.rotation = rotation
        self.videoCodec = videoCodec
        self.frameRate = frameRate
        self.audioCodec = audioCodec
        self.sampleRate = sampleRate
        self.channels = channels
    }

    enum CodingKeys: String, CodingKey {
        case durationSeconds = "duration_seconds"
        case formatName = "format_name"
        case bitRate = "bit_rate"
        case width, height, rotation
        case videoCodec = "video_codec"
        case frameRate = "frame_rate"
        case audioCodec = "audio_codec"
        case sampleRate = "sample_rate"
        case channels
    }
}
