import Synchronization

/// How a background worker service stops: a flag its loops and FFmpeg's interrupt callbacks poll, a latch that
/// wakes its idle waits, and a bounded wait for its run loop to end (a running decode or encode is interrupted
/// and gives its attempt back, so that a stop is never counted as a decoder crash).
final class WorkerStop: Sendable {
    private let flag = Atomic<Bool>(false)
    /// Opened by `request()`: idle waits end at once.
    let requested = Latch()
    /// Opened by `runEnded()`.
    private let ended = Latch()

    init() {}

    /// Whether the stop was asked for.
    var isRequested: Bool { flag.load(ordering: .relaxed) }

    /// Asks the worker to stop: sets the flag and opens `requested`.
    func request() {
        flag.store(true, ordering: .relaxed)
        requested.open()
    }

    /// Tells that the worker's run loop has returned.
    func runEnded() { ended.open() }

    /// Returns once the run loop has returned (true), or after `limit` (false).
    @discardableResult
    func waitForRunToEnd(atMost limit: Duration = .seconds(3)) async -> Bool {
        let ended = self.ended
        return await withTimeLimit(limit) { await ended.wait() }
    }
}
