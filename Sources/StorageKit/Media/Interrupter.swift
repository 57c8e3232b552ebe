/// Decides whether long FFmpeg work must stop: polled by libavformat's `interrupt_callback` during I/O and by
/// our own decode loops between packets. Remembers why it fired so the caller can say `interrupted` or
/// `timedOut`.
final class Interrupter {
    private let shouldAbort: @Sendable () -> Bool
    private let deadline: ContinuousClock.Instant?
    private(set) var firedReason: MediaError.Kind?

    init(shouldAbort: @escaping @Sendable () -> Bool = { false }, timeLimit: Duration? = nil) {
        self.shouldAbort = shouldAbort
        self.deadline = timeLimit.map { ContinuousClock.now + $0 }
    }

    /// True once the caller asked to stop or the deadline passed; stays true afterwards.
    func shouldStop() -> Bool {
        if firedReason != nil { return true }
        if shouldAbort() {
            firedReason = .interrupted
        } else if let deadline, ContinuousClock.now >= deadline {
            firedReason = .timedOut
        }
        return firedReason != nil
    }

    /// Throws `.interrupted` or `.timedOut` when work must stop.
    func check(_ doing: @autoclosure () -> String) throws(MediaError) {
        if shouldStop() { throw error(doing()) }
    }

    /// ``MediaError/check(_:_:function:kind:)`` for I/O this interrupter can cut short: once it has fired, a
    /// failure is the interruption (or time-out) while `doing`, not the file's fault.
    func check(
        _ code: Int32,
        while doing: @autoclosure () -> String,
        _ what: @autoclosure () -> String,
        function: String,
        kind: MediaError.Kind = .decodeFailed
    ) throws(MediaError) {
        guard code < 0 else { return }
        if firedReason != nil { throw error(doing()) }
        throw .ffmpeg(kind, what(), code: code, function: function)
    }

    /// The error describing why work stopped while `doing`.
    func error(_ doing: String) -> MediaError {
        switch firedReason {
        case .timedOut: MediaError(.timedOut, "Time limit reached while \(doing).")
        default: MediaError(.interrupted, "Stopped on request while \(doing).")
        }
    }
}
