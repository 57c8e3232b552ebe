import Foundation
import StorageKit

/// Holds candidates until they are complete: no writer has them open and their size and mtime have not
/// changed for `SETTLE_MS`. Then it hands them to the ingest queue, at most once while one is in flight.
actor SettleTracker {
    private struct Entry {
        var status: FileStatus?
        /// When this tracker first saw `status` (monotonic clock).
        var seenSince: ContinuousClock.Instant
        var due: ContinuousClock.Instant
    }

    private var entries: [RawPath: Entry] = [:]
    private var wake: AsyncStream<Void>.Continuation?
    private let config: ConfigStore
    private let queue: WorkQueue<RawPath>
    private let storageRoot: String
    /// Why files wait (free space), for `/health`.
    private(set) var waitingReason: String?

    init(config: ConfigStore, queue: WorkQueue<RawPath>, storageRoot: String) {
        self.config = config
        self.queue = queue
        self.storageRoot = storageRoot
    }

    /// Candidates waiting to settle.
    var count: Int { entries.count }

    /// Notes a candidate; ignored names (`.x`, `*.part` …) are never taken.
    func note(_ path: RawPath, after delay: Duration = .zero) {
        guard !DropNames.isIgnored(path.lastComponent) else { return }
        let due = ContinuousClock.now + delay
        if var e = entries[path] {
            e.due = min(e.due, due)
            entries[path] = e
        } else {
            entries[path] = Entry(status: nil, seenSince: due, due: due)
        }
        wake?.yield()
    }

    /// Runs until cancelled: checks due candidates every few milliseconds while any wait, sleeps otherwise.
    func run() async {
        let (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        wake = continuation
        var iterator = stream.makeAsyncIterator()
        while !Task.isCancelled {
            if entries.isEmpty {
                guard await iterator.next() != nil else { return }
                continue
            }
            await checkDue()
            try? await Task.sleep(for: .milliseconds(10))
        }
    }

    private func checkDue() async {
        let now = ContinuousClock.now
        let due = entries.filter { $0.value.due <= now }.map(\.key)
        guard !due.isEmpty else { return }
        let settings = config.current
        let settle = Duration.milliseconds(settings.settleMS)
        let free = FileOps.availableBytes(storageRoot) ?? Int64.max
        if free < settings.minFreeBytes {
            waitingReason =
                "only \(free) bytes free on the storage filesystem (MIN_FREE_BYTES=\(settings.minFreeBytes)); files wait in the drop"
            for path in due { entries[path]?.due = now + .seconds(1) }
            return
        }
        waitingReason = nil
        for path in due {
            guard var entry = entries[path] else { continue }
            guard let st = try? FileOps.lstat(path) else {
                entries[path] = nil
                continue
            }
            if st.kind == .directory {
                entries[path] = nil
                continue
            }
            // Links, FIFOs, sockets, devices and hard-linked files are rejected without being read: no settling.
            if st.kind != .regular || st.linkCount > 1 {
                await handOver(path)
                continue
            }
            if hasDownloadCompanion(path) {
                entry.due = now + settle
                entries[path] = entry
                continue
            }
            if entry.status == nil || !(entry.status!.isUnchanged(comparedTo: st)) {
                entry.status = st
                entry.seenSince = now
            }
            // ctime bounds the last change: every write sets it to the kernel's clock and no writer can set it
            // back (mtime can be, by `touch -d` or `cp -p`). A clock that jumped makes ctime useless, so time
            // observed unchanged by this tracker counts as well.
            let ctimeAge = Duration.nanoseconds(max(0, Self.wallNanos() - st.ctimeNanos))
            let sinceChange = max(ctimeAge, now - entry.seenSince)
            if sinceChange < settle {
                entry.due = now + (settle - sinceChange)
                entries[path] = entry
                continue
            }
            if WriterCheck.hasWriters(path, status: st) {
                entry.due = now + max(settle, .milliseconds(250))
                entries[path] = entry
                continue
            }
            await handOver(path)
        }
    }

    private func handOver(_ path: RawPath) async {
        if await queue.push(path) {
            entries[path] = nil
        } else {
            entries[path]?.due = ContinuousClock.now + .milliseconds(50)
        }
    }

    /// A browser's file beside its `.part` (or similar) sibling is still being downloaded.
    private func hasDownloadCompanion(_ path: RawPath) -> Bool {
        DropNames.temporarySuffixes.contains { suffix in
            (try? FileOps.lstat(RawPath(path.bytes + Array(suffix.utf8)))) != nil
        }
    }

    private static func wallNanos() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }
}
