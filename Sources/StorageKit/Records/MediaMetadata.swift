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
    /// FFmpeg's name of the video stream's pixel format, e.g. `yuv420p10le`.
    public var pixelFormat: String?
    /// Bits per sample of the video's first component (8, 10, 12).
    public var bitDepth: Int?
    /// FFmpeg's name of the video's transfer characteristic, e.g. `bt709`, `arib-std-b67`, `smpte2084`.
    public var colorTransfer: String?
    /// When the media was recorded, ISO-8601 UTC (`2026-05-01T12:34:56Z`).
    public var creationTime: String?
    /// The camera's maker.
    public var make: String?
    /// The camera's model.
    public var model: String?
    /// Where it was recorded, ISO 6709 (`+48.8577+002.2950/`).
    public var location: String?

    public init(
        durationSeconds: Double? = nil,
        formatName: String? = nil,
        bitRate: Int? = nil,
        width: Int? = nil,
        height: Int? = nil,
        rotation: Int? = nil,
        videoCodec: String? = nil,
        frameRate: Double? = nil,
        audioCodec: String? = nil,
        sampleRate: Int? = nil,
        channels: Int? = nil,
        pixelFormat: String? = nil,
        bitDepth: Int? = nil,
        colorTransfer: String? = nil,
        creationTime: String? = nil,
        make: String? = nil,
        model: String? = nil,
        location: String? = nil
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
        self.pixelFormat = pixelFormat
        self.bitDepth = bitDepth
        self.colorTransfer = colorTransfer
        self.creationTime = creationTime
        self.make = make
        self.model = model
        self.location = location
    }

    enum CodingKeys: String, SnakeCaseCodingKey {
        case durationSeconds, formatName, bitRate, width, height, rotation, videoCodec, frameRate
        case audioCodec, sampleRate, channels
        case pixelFormat, bitDepth, colorTransfer
        case creationTime, make, model, location
    }
}
