/// The container and codecs of renditions (`VIDEO_OUTPUT_FORMAT`).
public enum RenditionContainer: String, Sendable, CaseIterable {
    /// H.264 High + AAC in MP4 with `moov` first.
    case mp4
    /// VP9 + Opus in WebM.
    case webm

    /// The libavcodec video encoder.
    var videoEncoder: String { self == .mp4 ? "libx264" : "libvpx-vp9" }
    /// The libavcodec audio encoder.
    var audioEncoder: String { self == .mp4 ? "aac" : "libopus" }
    /// The video codec as the record names it (FFmpeg's codec name).
    public var videoCodecName: String { self == .mp4 ? "h264" : "vp9" }
    /// The audio codec as the record names it.
    public var audioCodecName: String { self == .mp4 ? "aac" : "opus" }
    /// libavformat's muxer name.
    var muxerName: String { rawValue }
    /// The file extension, e.g. `mp4`.
    public var fileExtension: String { rawValue }

    /// The bit-rate cap of a rendition whose shorter side is `shorterSide` pixels: quality-driven rate control
    /// may spend up to this much (over a two-second buffer) on hard scenes, and less on easy ones.
    static func maximumBitRate(shorterSide: Int) -> Int {
        switch shorterSide {
        case ...240: 400_000
        case ...360: 800_000
        case ...480: 1_400_000
        case ...720: 2_800_000
        case ...1080: 5_000_000
        case ...1440: 9_000_000
        default: 16_000_000
        }
    }
}
