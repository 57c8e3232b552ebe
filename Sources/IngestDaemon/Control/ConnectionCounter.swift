import Synchronization

/// Counts open connections against the limit.
final class ConnectionCounter: Sendable {
    private let count = Mutex(0)

    /// Takes a slot when fewer than `limit` are taken.
    func tryAcquire(limit: Int) -> Bool {
        count.withLock { n in
            guard n < limit else { return false }
            n += 1
            return true
        }
    }

    func release() { count.withLock { $0 -= 1 } }
}
