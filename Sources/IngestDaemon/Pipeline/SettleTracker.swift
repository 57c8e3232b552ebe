import Foundation
import Logging
import StorageKit

/// Holds candidates until they are complete: no writer has them open and their size and mtime have not
/// changed for `SETTLE_MS`. Then it hands them to the ingest queue, at most once while one is in flight.
///
/// It sleeps until the earliest candidate is due (or a new one arrives earlier) — no polling — and every look
/// at the disk (`lstat`, `statvfs`, the writer check's `/proc` scan) runs on the blocking threads, never on
/// this actor.
actor SettleTracker {
    /// One candidate: what was last seen of it and when it is looked at next.
    struct Entry: Sendable {
        var status: FileStatus?
        /// When this tracker first saw `status` (monotonic clock).
        var seenSince: ContinuousClock.Instant
        var due: ContinuousClock.Instant
        /// Notices so far: a look that decided to forget the entry keeps it when one came meanwhile.
        var notices = 0
    }

    /// What one look at a due candidate decided.
    enum Decision: Sendable, Equatable {
        /// A folder, or a file given up after failures: not a candidate (until a new notice).
        case forget
        /// No longer there: not a candidate, and its failures are forgotten.
        case gone
        /// Complete (or a file that is rejected without being read): to the ingest queue.
        case handOver
        /// Not yet: look again at the entry's `due`.
        case wait
    }

    private var entries: [RawPath: Entry] = [:]
    private let config: ConfigStore
    private let queue: WorkQueue<RawPath>
    /// The drop folder: a path below a hidden or temporary folder of it is ignored, as a hidden name is.
    private let dropRoot: RawPath
    private let storageRoot: String
    private let blocking: BlockingThreads
    private let backoff: RetryBackoff
    private let logger: Logger
    /// Why files wait (free space), for `/health`.
    private(set) var waitingReason: String?
    private var saidWritersUnknown = false

    // The run loop's sleep: the continuation it waits on, the timer that ends it, and a wake that came while
    // it was not waiting.
    private var waiter: CheckedContinuation<Void, Never>?
    private var timer: Task<Void, Never>?
    private var timerDue: ContinuousClock.Instant?
    private var wokenEarly = false

    init(
        config: ConfigStore,
        queue: WorkQueue<RawPath>,
        dropRoot: RawPath,
        storageRoot: String,
        blocking: BlockingThreads,
        backoff: RetryBackoff,
        logger: Logger
    ) {
        self.config = config
        self.queue = queue
        self.dropRoot = dropRoot
        self.storageRoot = storageRoot
        self.blocking = blocking
        self.backoff = backoff
        self.logger = logger
    }

    /// Candidates waiting to settle.
    var count: Int { entries.count }

    /// Notes a candidate; ignored names (`.x`, `*.part` …), and whatever lies below a folder with such a name, are
    /// never taken.
    func note(_ path: RawPath, after delay: Duration = .zero) {
        guard !DropNames.isIgnored(path, below: dropRoot) else { return }
        let due = ContinuousClock.now + delay
        if var e = entries[path] {
            e.due = min(e.due, due)
            e.notices += 1
            entries[path] = e
        } else {
            entries[path] = Entry(status: nil, seenSince: due, due: due, notices: 1)
        }
        if timerDue.map({ due < $0 }) ?? true { wake() }
    }

    /// Runs until cancelled: sleeps until the earliest candidate is due, looks at every due one, repeats.
    func run() async {
        await withTaskCancellationHandler {
            while !Task.isCancelled {
                await sleepUntilDue()
                guard !Task.isCancelled else { break }
                await checkDue()
            }
        } onCancel: {
            Task { await self.wake() }
        }
        timer?.cancel()
    }

    private func sleepUntilDue() async {
        if wokenEarly {
            wokenEarly = false
            return
        }
        let next = entries.values.lazy.map(\.due).min()
        if let next, next <= .now { return }
        if let next {
            timerDue = next
            timer = Task { [weak self] in
                try? await Task.sleep(until: next, clock: .continuous)
                guard !Task.isCancelled else { return }
                await self?.wake()
            }
        }
        await withCheckedContinuation { waiter = $0 }
    }

    /// Ends the run loop's sleep now (or its next one, when it is not sleeping).
    private func wake() {
        timer?.cancel()
        timer = nil
        timerDue = nil
        if let waiter {
            self.waiter = nil
            waiter.resume()
        } else {
            wokenEarly = true
        }
    }

    private func checkDue() async {
        let now = ContinuousClock.now
        let due = entries.filter { $0.value.due <= now }
        guard !due.isEmpty else { return }
        // While they are looked at, a new notice of one of them may only bring its next look forward.
        let inCheck = now + .seconds(86_400)
        for path in due.keys { entries[path]?.due = inCheck }
        let settings = config.current
        let settle = Duration.milliseconds(settings.settleMS)
        let root = storageRoot
        let backoff = self.backoff
        let looked: Look
        do {
            // A stop does not wait for a look in progress (a hung network mount, a large batch): its result is
            // dropped, and the files wait in the drop for the next start.
            looked = try await blocking.runUnlessCancelled {
                Self.look(
                    at: due,
                    settle: settle,
                    minFreeBytes: settings.minFreeBytes,
                    storageRoot: root,
                    hold: backoff.hold
                )
            }
        } catch {
            // Stopping (the run loop ends), or the threads are: look again shortly.
            for path in due.keys { entries[path]?.due = now + .milliseconds(100) }
            return
        }
        waitingReason = looked.waitingReason
        if case .unknown(let unreadable) = looked.writers, !saidWritersUnknown {
            saidWritersUnknown = true
            logger.notice(
                "cannot see whether other users' processes write to dropped files; relying on SETTLE_MS",
                metadata: [
                    "processes_unreadable": "\(unreadable)",
                    "hint": "run as the owner of dropped files, or grant CAP_LEASE",
                ]
            )
        }
        for (path, (decision, entry)) in looked.decisions {
            switch decision {
            case .forget, .gone:
                if decision == .gone { backoff.succeeded(path) }
                // A notice that came while it was looked at (the file replaced meanwhile) keeps it.
                if let current = entries[path], current.notices != entry.notices { continue }
                entries[path] = nil
            case .wait:
                guard let current = entries[path] else { continue }
                var next = entry
                next.due = min(entry.due, current.due)
                next.notices = current.notices
                entries[path] = next
            case .handOver:
                await handOver(path)
            }
        }
    }

    /// What one batch of looks found.
    struct Look: Sendable {
        var decisions: [RawPath: (Decision, Entry)] = [:]
        /// Set when files wait for free space.
        var waitingReason: String?
        /// The writer check's least certain answer in the batch.
        var writers: WriterCheck.Verdict = .none
    }

    /// Looks at each due candidate on disk (blocking: run it on the blocking threads).
    static func look(
        at due: [RawPath: Entry],
        settle: Duration,
        minFreeBytes: Int64,
        storageRoot: String,
        now: @autoclosure () -> ContinuousClock.Instant = ContinuousClock.now,
        wallNanos: @autoclosure () -> Int64 = SettleTracker.wallNanos(),
        writerCheck: (RawPath, FileStatus) -> WriterCheck.Verdict = WriterCheck.check,
        hold: (RawPath, FileStatus) -> RetryBackoff.Hold = { _, _ in .none }
    ) -> Look {
        var look = Look()
        let batchStart = now()
        let free = FileOps.availableBytes(storageRoot) ?? Int64.max
        if free < minFreeBytes {
            look.waitingReason =
                "only \(free) bytes free on the storage filesystem (MIN_FREE_BYTES=\(minFreeBytes)); files wait in the drop"
            for (path, var entry) in due {
                entry.due = batchStart + .seconds(1)
                look.decisions[path] = (.wait, entry)
            }
            return look
        }
        for (path, var entry) in due {
            // The clock is read for each file: a long batch must not credit later files with time unobserved.
            let now = now()
            guard let st = try? FileOps.lstat(path) else {
                look.decisions[path] = (.gone, entry)
                continue
            }
            if st.kind == .directory {
                look.decisions[path] = (.forget, entry)
                continue
            }
            // Links, FIFOs, sockets, devices and hard-linked files are rejected without being read: no settling.
            if st.kind != .regular || st.linkCount > 1 {
                look.decisions[path] = (.handOver, entry)
                continue
            }
            // A file whose ingest failed waits out its back-off (the failure put it back, which the watcher
            // reported as a new notice); one that failed too often waits for a rescan.
            switch hold(path, st) {
            case .until(let next) where next > now:
                entry.due = next
                look.decisions[path] = (.wait, entry)
                continue
            case .givenUp:
                look.decisions[path] = (.forget, entry)
                continue
            case .none, .until:
                break
            }
            if hasDownloadCompanion(path) {
                // At least 250 ms: with SETTLE_MS=0 this would look again at once, for as long as it downloads.
                entry.due = now + max(settle, .milliseconds(250))
                look.decisions[path] = (.wait, entry)
                continue
            }
            if entry.status == nil || !(entry.status!.isUnchanged(comparedTo: st)) {
                entry.status = st
                entry.seenSince = now
            }
            // ctime bounds the last change: every write sets it to the kernel's clock and no writer can set it
            // back (mtime can be, by `touch -d` or `cp -p`). A clock that jumped makes ctime useless, so time
            // observed unchanged by this tracker counts as well.
            let ctimeAge = Duration.nanoseconds(max(0, wallNanos() - st.ctimeNanos))
            let sinceChange = max(ctimeAge, now - entry.seenSince)
            if sinceChange < settle {
                entry.due = now + (settle - sinceChange)
                look.decisions[path] = (.wait, entry)
                continue
            }
            switch writerCheck(path, st) {
            case .writing:
                entry.due = now + max(settle, .milliseconds(250))
                look.decisions[path] = (.wait, entry)
            case .unknown(let unreadable):
                // Settled by time: that is all that can be known without a lease or other users' fds.
                look.writers = .unknown(unreadable: unreadable)
                look.decisions[path] = (.handOver, entry)
            case .none:
                look.decisions[path] = (.handOver, entry)
            }
        }
        return look
    }

    /// Gives `path` to the work queue. Its entry goes first: while the push waits, the tracker answers others
    /// (`count` included) without the path, and a notice that arrives meanwhile makes a new entry that is kept.
    /// A full queue takes the entry back, to be tried again shortly.
    private func handOver(_ path: RawPath) async {
        guard var entry = entries.removeValue(forKey: path) else { return }
        if await queue.push(path) { return }
        entry.due = ContinuousClock.now + .milliseconds(50)
        if entries[path] == nil { entries[path] = entry }
    }

    /// A browser's file beside its `.part` (or similar) sibling is still being downloaded.
    private static func hasDownloadCompanion(_ path: RawPath) -> Bool {
        DropNames.temporarySuffixes.contains { suffix in
            (try? FileOps.lstat(RawPath(path.bytes + Array(suffix.utf8)))) != nil
        }
    }

    static func wallNanos() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }
}
