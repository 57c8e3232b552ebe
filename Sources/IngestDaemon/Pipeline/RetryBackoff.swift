import StorageKit
import Synchronization

/// How long a file whose ingest failed waits before it is tried again: 5 s, doubling, at most 5 minutes,
/// and after ``maxFailures`` failures not again until a rescan names it. `/health` shows the files that wait.
///
/// The wait belongs to the file, not to its name: a failed ingest puts the file back in the drop, and the
/// watcher sees that as a new notice; only a different file under the name (another device/inode, size or
/// mtime) is a new candidate and tried at once.
final class RetryBackoff: Sendable {
    static let firstDelay = Duration.seconds(5)
    static let longestDelay = Duration.seconds(300)
    static let maxFailures = 8

    /// What the back-off says about a candidate that looks settled.
    enum Hold: Equatable, Sendable {
        /// Nothing failed for this file: take it.
        case none
        /// It failed; not before this instant.
        case until(ContinuousClock.Instant)
        /// It failed too often: not until a rescan.
        case givenUp
    }

    private struct Entry {
        var failures: Int
        var lastError: String
        /// The file that failed; nil when it could not be seen (any file under the name then waits).
        var identity: FileStatus?
        /// Nil once given up.
        var nextTry: ContinuousClock.Instant?
    }

    private let entries = Mutex<[RawPath: Entry]>([:])

    /// Records a failure of the file now at `path` (`identity`: its status after the failure); returns the delay
    /// before the next try, or nil when it is not retried on its own any more.
    @discardableResult
    func failed(
        _ path: RawPath,
        error: String,
        identity: FileStatus? = nil,
        now: ContinuousClock.Instant = .now
    ) -> Duration? {
        entries.withLock { entries in
            var entry = entries[path] ?? Entry(failures: 0, lastError: error)
            if let before = entry.identity, let identity, !Self.sameFile(before, identity) {
                entry = Entry(failures: 0, lastError: error)
            }
            entry.failures += 1
            entry.lastError = error
            entry.identity = identity
            let delay = Self.delay(afterFailures: entry.failures)
            entry.nextTry = delay.map { now + $0 }
            entries[path] = entry
            return delay
        }
    }

    /// Whether the file at `path`, whose status is `status`, must wait. A different file under the name ends
    /// the old one's back-off.
    func hold(_ path: RawPath, status: FileStatus) -> Hold {
        entries.withLock { entries in
            guard let entry = entries[path] else { return .none }
            // A failure whose file could not be seen afterwards holds nothing: any file there now may be new.
            guard let identity = entry.identity, Self.sameFile(identity, status) else {
                entries[path] = nil
                return .none
            }
            guard let next = entry.nextTry else { return .givenUp }
            return .until(next)
        }
    }

    /// A rescan asks for every waiting file to be tried once more now.
    func retryAllNow(now: ContinuousClock.Instant = .now) {
        entries.withLock { entries in
            for path in entries.keys { entries[path]?.nextTry = now }
        }
    }

    /// The delay after `failures` consecutive failures; nil past ``maxFailures``.
    static func delay(afterFailures failures: Int) -> Duration? {
        guard failures < maxFailures else { return nil }
        var delay = firstDelay
        for _ in 1..<max(1, failures) where delay < longestDelay { delay *= 2 }
        return min(delay, longestDelay)
    }

    /// `path` was stored, rejected or is gone: its failures are forgotten (and `/health` no longer names it).
    func succeeded(_ path: RawPath) {
        _ = entries.withLock { $0.removeValue(forKey: path) }
    }

    /// Files waiting after failures, for `/health`: how many, and a sentence about the one that failed most.
    func waitingReason() -> String? {
        entries.withLock { entries in
            guard let worst = entries.max(by: { $0.value.failures < $1.value.failures }) else { return nil }
            let given = entries.values.filter { $0.nextTry == nil }.count
            var text =
                "\(entries.count) file(s) in the drop wait after failed ingests (e.g. \(worst.key.description), "
                + "\(worst.value.failures) failure(s): \(worst.value.lastError))"
            if given > 0 { text += "; \(given) no longer retried on their own: fix the cause, then rescan" }
            return text
        }
    }

    /// The same file: device, inode, size, mtime and ctime as seen after the failure (its return to the drop
    /// was the last change; a new file that got a freed inode number and kept the old mtime has a new ctime).
    private static func sameFile(_ a: FileStatus, _ b: FileStatus) -> Bool {
        a.isUnchanged(comparedTo: b)
    }
}
