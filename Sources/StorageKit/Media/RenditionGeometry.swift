import IngestConfig

/// The picture as displayed (sample aspect and rotation applied) and the sizes the rendition ladder makes of it.
public struct RenditionGeometry: Sendable, Equatable {
    /// Displayed width in square pixels, after rotation.
    public var displayWidth: Double
    /// Displayed height in square pixels, after rotation.
    public var displayHeight: Double

    /// The displayed size of a `codedWidth`×`codedHeight` picture with `sampleAspect` (width of one pixel over
    /// its height; 1 when unknown) turned `rotation` degrees clockwise.
    public init(codedWidth: Int, codedHeight: Int, sampleAspect: Double = 1, rotation: Int = 0) {
        let aspect = sampleAspect.isFinite && sampleAspect > 0 ? sampleAspect : 1
        var width = Double(max(codedWidth, 1)) * aspect
        var height = Double(max(codedHeight, 1))
        if rotation == 90 || rotation == 270 { swap(&width, &height) }
        displayWidth = width
        displayHeight = height
    }

    /// The shorter displayed side, in pixels (rounded down to an even number, at least 2).
    public var shorterSide: Int { Self.even(min(displayWidth, displayHeight), roundingDown: true) }

    /// The size whose shorter side is `shorter` and whose longer side keeps the displayed aspect, both even.
    public func size(shorterSide shorter: Int) -> (width: Int, height: Int) {
        let ratio = max(displayWidth, displayHeight) / max(min(displayWidth, displayHeight), 1)
        let longer = Self.even(Double(shorter) * ratio, roundingDown: false)
        return displayWidth >= displayHeight ? (longer, shorter) : (shorter, longer)
    }

    /// One planned rendition: its name (`720p`, or `120p` for the source's own size) and output size.
    public struct Step: Sendable, Equatable {
        public var name: String
        public var width: Int
        public var height: Int
    }

    /// The renditions `ladder` makes of this picture: every step whose shorter side is not larger than the
    /// source's; when every step is larger, one at the source's own size named after its shorter side.
    /// Empty only when `ladder` is.
    public func plan(_ ladder: [RenditionStep]) -> [Step] {
        guard !ladder.isEmpty else { return [] }
        let source = shorterSide
        let fitting = ladder.filter { $0.shorterSide <= source }
        if fitting.isEmpty {
            let size = size(shorterSide: source)
            return [Step(name: "\(source)p", width: size.width, height: size.height)]
        }
        return fitting.map { step in
            let size = size(shorterSide: step.shorterSide)
            return Step(name: step.rawValue, width: size.width, height: size.height)
        }
    }

    /// A tile `width` pixels wide keeping the displayed aspect; its height is even and at least 2.
    public func tile(width: Int) -> (width: Int, height: Int) {
        (width, Self.even(Double(width) * displayHeight / max(displayWidth, 1), roundingDown: false))
    }

    /// `value` as an even integer ≥ 2 (to the nearest even number, or the even number below it).
    static func even(_ value: Double, roundingDown: Bool) -> Int {
        guard value.isFinite, value > 2 else { return 2 }
        let halves = roundingDown ? (value / 2).rounded(.down) : (value / 2).rounded()
        return Int(min(halves, 1_000_000)) * 2
    }
}
