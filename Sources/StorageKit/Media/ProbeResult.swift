/// What `MediaProbe.probe(path:)` learned about a file.
public struct ProbeResult: Sendable, Equatable {
    /// The SPEC's `metadata` object for the asset record.
    public var metadata: MediaMetadata
    /// True when the file has at least one video stream (cover art does not count).
    public var hasVideo: Bool
    /// True when the file has at least one audio stream.
    public var hasAudio: Bool
    /// libavformat's demuxer name, e.g. `mov,mp4,m4a,3gp,3g2,mj2` or `avi`.
    public var formatName: String
    /// Container duration in seconds, nil when unknown.
    public var durationSeconds: Double?

    /// Makes a result from its parts.
    public init(metadata: MediaMetadata, hasVideo: Bool, hasAudio: Bool, formatName: String, durationSeconds: Double?) {
        self.metadata = metadata
        self.hasVideo = hasVideo
        self.hasAudio = hasAudio
        self.formatName = formatName
        self.durationSeconds = durationSeconds
    }
}
