import StorageKit
import Synchronization

/// How long a file whose ingest failed waits before it is tried again: 5 s, doubling, at most 5 minutes,
/// and after ``maxFailures`` failures not again until a rescan (or a new notice) names it. `/health` shows the
/// files that wait.
final class RetryBackoff: Sendable {
    static let firstDelay = Duration.seconds(5)
    static let longestDelay = Duration.seconds(300)
    static let maxFailures = 8

    private struct Entry {
        var failures: Int
        var lastError: String
    }

    private let entries = Mutex<[RawPath: Entry]>([:])

    /// Records a failure of `path`; returns the delay before the next try, or nil when it is not retried on
    /// its own any more.
    func failed(_ path: RawPath, error: String) -> Duration? {
        let failures = entries.withLock { entries in
            var entry = entries[path] ?? Entry(failures: 0, lastError: error)
            entry.failures += 1
            entry.lastError = error
            entries[path] = entry
            return entry.failures
        }
        return Self.delay(afterFailures: failures)
    }

    /// The delay after `failures` consecutive failures; nil past ``maxFailures``.
    static func delay(afterFailures failures: Int) -> Duration? {
        guard failures < maxFailures else { return nil }
        var delay = firstDelay
        for _ in 1..<max(1, failures) where delay < longestDelay { delay *= 2 }
        return min(delay, longestDelay)
    }

    /// `path` was stored, rejected or is gone: its failures are forgotten.
    func succeeded(_ path: RawPath) {
        _ = entries.withLock { $0.removeValue(forKey: path) }
    }

    /// Files waiting after failures, for `/health`: how many, and a sentence about the one that failed most.
    func waitingReason() -> String? {
        entries.withLock { entries in
            guard let worst = entries.max(by: { $0.value.failures < $1.value.failures }) else { return nil }
            let given = entries.values.filter { $0.failures >= Self.maxFailures }.count
            var text =
                "\(entries.count) file(s) in the drop wait after failed ingests (e.g. \(worst.key.description), "
                + "\(worst.value.failures) failure(s): \(worst.value.lastError))"
            if given > 0 { text += "; \(given) no longer retried on their own: fix the cause, then rescan" }
            return text
        }
    }
}
