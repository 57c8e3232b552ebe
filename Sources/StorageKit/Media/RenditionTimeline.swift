/// Gives each picture of a rendition a timestamp that grows, from the source's timestamps as they come (in the
/// stream's time base), so that the rendition keeps the source's duration even when its timeline breaks.
///
/// - A missing timestamp continues one picture after the last.
/// - A repeated one, or one less than a tenth of a second behind the last (a reordering glitch), moves one tick
///   past the last.
/// - A jump back by a tenth of a second or more is a discontinuity: files joined with `cat` (two camera clips that both
///   start at 1.4 s), a clock reset, or a wrapped crafted value. The picture continues one picture after the
///   last and later ones keep their spacing from it, as the audio (timed by its samples) does. In formats whose
///   timestamps may jump (MPEG-TS and PS, `discontinuous`), a jump forward by more than 10 s is one too.
///
/// Numbers come from the file: a sum that does not fit refuses the file (`.decodeFailed`), never traps.
struct RenditionTimeline {
    /// The source timestamp of the container's start: the first picture's when its own is missing.
    let origin: Int64
    /// A jump back by this many ticks or more is a discontinuity (a tenth of a second).
    let backwardLimit: Int64
    /// In a `discontinuous` format, a jump forward by more than this many ticks is one (10 s); nil elsewhere.
    let forwardLimit: Int64?
    /// Added to the source's timestamps since the last discontinuity.
    private(set) var shift: Int64 = 0
    private(set) var last: Int64?

    /// A timeline for a stream with `ticksPerSecond` ticks a second (at least 1).
    init(origin: Int64, ticksPerSecond: Int64, discontinuous: Bool) {
        self.origin = origin
        let second = max(1, ticksPerSecond)
        backwardLimit = max(1, second / 10)
        forwardLimit = discontinuous ? second.multipliedReportingOverflow(by: 10).partialValue : nil
    }

    /// The timestamp of the next picture, whose source timestamp is `source` (nil when missing) and which lasts
    /// `duration` ticks (at least 1 is assumed).
    mutating func place(_ source: Int64?, duration: Int64) throws(MediaError) -> Int64 {
        let step = max(1, duration)
        guard let last else { return advance(to: source.map { $0 &+ shift } ?? origin) }
        guard let source else { return advance(to: try Self.add(last, step)) }
        // The shift wraps rather than traps: what it gives is compared with the last timestamp before use.
        let shifted = source &+ shift
        let (behind, overflow) = last.subtractingReportingOverflow(shifted)
        if overflow || behind >= backwardLimit || (forwardLimit.map { -behind > $0 } ?? false) {
            // A discontinuity: continue one picture after the last, and keep later pictures' spacing.
            let target = try Self.add(last, step)
            shift = shift &+ (target &- shifted)
            return advance(to: target)
        }
        return advance(to: behind >= 0 ? try Self.add(last, 1) : shifted)
    }

    private mutating func advance(to timestamp: Int64) -> Int64 {
        last = timestamp
        return timestamp
    }

    private static func add(_ a: Int64, _ b: Int64) throws(MediaError) -> Int64 {
        let (sum, overflow) = a.addingReportingOverflow(b)
        guard !overflow else { throw runaway }
        return sum
    }

    private static var runaway: MediaError {
        MediaError(.decodeFailed, "The video's timestamps run past the largest value.")
    }
}
