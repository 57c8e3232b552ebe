/// One step of the rendition ladder (`RENDITIONS`): the number is the shorter side of the displayed picture.
public enum RenditionStep: String, Sendable, CaseIterable, Comparable {
    case p2160 = "2160p"
    case p1440 = "1440p"
    case p1080 = "1080p"
    case p720 = "720p"
    case p480 = "480p"
    case p360 = "360p"
    case p240 = "240p"

    /// The shorter side in pixels.
    public var shorterSide: Int { Int(rawValue.dropLast())! }

    public static func < (lhs: RenditionStep, rhs: RenditionStep) -> Bool { lhs.shorterSide < rhs.shorterSide }
}

/// `SPRITE_INTERVAL`: how far apart the frames of a preview sprite sheet are.
public enum SpriteInterval: Sendable, Equatable {
    /// At most 100 frames spread over the duration.
    case auto
    /// No sprite sheet (`0`).
    case none
    /// One frame every so many seconds.
    case every(Double)
}
