import Synchronization

/// Wakes workers that found no work: whoever queues work rings, and a waiter looks again.
///
/// No ring is lost between a worker's look and its wait: the worker reads `generation` before it looks, and
/// `wait(after:)` returns at once if a ring (or the close) came since. Replaces "sleep and look again" loops
/// for work queued in this process; work queued elsewhere (another node) is found by a bounded wait.
final class Doorbell: Sendable {
    private struct State {
        var generation: UInt64 = 0
        var isClosed = false
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
        var nextID = 0
    }

    private let state = Mutex(State())

    init() {}

    /// Counts rings (and the close): read it before looking for work, pass it to `wait(after:)`.
    var generation: UInt64 { state.withLock { $0.generation } }

    /// Whether `close()` was called.
    var isClosed: Bool { state.withLock { $0.isClosed } }

    /// Wakes one waiter (the longest waiting), or, with none waiting, the next to look: one ring, one job.
    func ring() {
        let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            s.generation &+= 1
            guard let first = s.waiters.keys.min() else { return nil }
            return s.waiters.removeValue(forKey: first)
        }
        waiter?.resume()
    }

    /// Wakes every waiter, now and later: `wait` returns at once from here on (the workers are stopping).
    func close() {
        resumeAll { $0.isClosed = true }
    }

    /// Returns once the bell rang after `seen`, the bell is closed, or the calling task is cancelled.
    func wait(after seen: UInt64) async {
        let id = state.withLock { s -> Int in
            s.nextID += 1
            return s.nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { s -> Bool in
                    if s.isClosed || s.generation != seen || Task.isCancelled { return true }
                    s.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }

    /// `wait(after:)`, for at most `limit`.
    func wait(after seen: UInt64, atMost limit: Duration) async {
        _ = await withTimeLimit(limit) { await self.wait(after: seen) }
    }

    private func resumeAll(_ change: (inout State) -> Void) {
        let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            change(&s)
            s.generation &+= 1
            defer { s.waiters.removeAll() }
            return Array(s.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }
}
