import IngestConfig

/// How many sprite tiles an asset gets and how far apart they are (`SPRITE_INTERVAL`).
public enum SpritePlan {
    /// `auto` spaces at most this many frames over the duration.
    public static let autoMaximumFrames = 100
    /// `auto` never spaces frames closer than this (a 12.5 s clip gets 25 frames 0.5 s apart).
    public static let autoMinimumInterval = 0.5
    /// A sheet never holds more tiles than this, whatever the interval (the interval grows instead), so its
    /// JPEG stays within the format's 65,535-pixel height.
    public static let maximumFrames = 1000
    /// Tiles per row.
    public static let columns = 10
    /// Tile width in pixels.
    public static let tileWidth = 160

    /// The interval and tile count for a clip of `duration` seconds; nil when `interval` is `.none`.
    public static func layout(_ interval: SpriteInterval, duration: Double) -> (interval: Double, count: Int)? {
        let length = duration.isFinite && duration > 0 ? duration : 0
        var seconds: Double
        switch interval {
        case .none: return nil
        case .auto: seconds = max(length / Double(autoMaximumFrames), autoMinimumInterval)
        case .every(let value): seconds = max(value, length / Double(maximumFrames))
        }
        // Millisecond precision: the WebVTT cues cannot say more.
        seconds = (seconds * 1000).rounded(.up) / 1000
        let limit = interval == .auto ? autoMaximumFrames : maximumFrames
        let count = length > 0 ? Int(min((length / seconds).rounded(.up), Double(limit))) : 1
        return (seconds, max(1, count))
    }
}
