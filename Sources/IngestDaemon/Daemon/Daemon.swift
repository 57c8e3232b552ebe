import Foundation
import Logging
import StorageKit
import Synchronization

/// The running daemon's pipeline: recovery, the watcher and settle tracker, the ingest workers, thumbnails and
/// renditions. The services of `DaemonRunner` run its parts, and stop them in reverse order.
final class Daemon: Sendable {
    let context: DaemonContext
    let watcher: InotifyWatcher
    let settle: SettleTracker
    let ingestQueue: WorkQueue<RawPath>
    let thumbnails: ThumbnailService
    let renditions: RenditionService
    private let lastError = Mutex<String?>(nil)
    private let ingestedCount = Atomic<Int>(0)
    /// Delays between tries of a file whose ingest failed.
    let backoff = RetryBackoff()

    init(context: DaemonContext) throws {
        self.context = context
        // Rung when ingest or thumbnails may have run out of work: renditions, which yield to them, look then.
        let foregroundIdle = Doorbell()
        ingestQueue = WorkQueue<RawPath>(capacity: 4096) { foregroundIdle.ring() }
        watcher = try InotifyWatcher(root: context.dropRoot.description, logger: context.logger)
        settle = SettleTracker(
            config: context.config,
            queue: ingestQueue,
            dropRoot: context.dropRoot,
            storageRoot: context.layout.root,
            blocking: context.blocking,
            backoff: backoff,
            logger: context.logger
        )
        // The two services refer to each other: renditions yield while thumbnails (or ingest) are busy, and a
        // stored thumbnail wakes renditions. The thumbnails are made second and handed over once they exist.
        let queue = ingestQueue
        let madeThumbnails = Mutex<ThumbnailService?>(nil)
        let renditions = RenditionService(context: context, foregroundIdle: foregroundIdle) {
            if madeThumbnails.withLock({ $0?.isBusy ?? false }) { return true }
            return await !queue.isIdle
        }
        self.renditions = renditions
        let thumbnails = ThumbnailService(
            context: context,
            derivedWorkQueued: { [weak renditions] in renditions?.wake() },
            mayBeIdle: { foregroundIdle.ring() }
        )
        madeThumbnails.withLock { $0 = thumbnails }
        self.thumbnails = thumbnails
    }

    /// Finishes or rolls back what a crash interrupted; runs before anything else.
    func recover() async throws {
        let summary = try context.ingestor.recover(dropRoot: context.dropRoot)
        if !summary.isEmpty {
            context.logger.notice("recovered interrupted work", metadata: summary.logMetadata)
        }
        // Placements recovery finished appended their `ingested` events with the records.
        await context.events.catchUp()
        await takeOverLostNodes()
    }

    /// Gets the pipeline ready before anything is announced: the background jobs this node was running when it
    /// last stopped are free to be claimed again, events are followed, and the watcher starts (its thread
    /// queues the start-up scan).
    func prepare() async throws {
        let expired = try await context.withCatalog { try $0.expireOwnJobLeases() }
        if expired > 0 {
            context.logger.notice(
                "resuming background jobs cut short by the last stop",
                metadata: ["jobs": "\(expired)"]
            )
        }
        // Another node's events may come with jobs this node can take.
        // Weak: the catalog's listener calls this on an event loop thread, which must never be the one that lets
        // go of the services (and with them the catalog) last.
        await context.events.follow { [weak thumbnails, weak renditions] in
            thumbnails?.wake()
            renditions?.wake()
        }
        watcher.start()
    }

    /// How a drain ended.
    enum DrainEnd: Sendable, Equatable {
        /// Every file in flight was finished.
        case finished
        /// `grace` passed first.
        case timedOut
        /// A second stop signal came first.
        case cutShort
    }

    /// Stops taking new files: the watch ends and the ingest queue accepts nothing more.
    func stopTakingFiles() async {
        watcher.stop()
        await ingestQueue.close()
    }

    /// Lets the files in flight finish, until `grace` passes or `cutShort` opens; whatever is left unfinished is
    /// journalled and recovered at the next start. The queue is closed first (the watcher's service has closed it
    /// already when the group stops in order), so that the drain ends.
    func drainIngest(grace: Duration, cutShort: Latch) async -> DrainEnd {
        await ingestQueue.close()
        return await withTaskGroup(of: DrainEnd.self) { group in
            group.addTask {
                await self.ingestQueue.untilIdle()
                return .finished
            }
            group.addTask {
                try? await Task.sleep(for: grace)
                return .timedOut
            }
            group.addTask {
                await cutShort.wait()
                return .cutShort
            }
            let first = await group.next() ?? .finished
            group.cancelAll()
            return first
        }
    }

    /// Hands the watcher's notices to the settle tracker until the watch ends.
    func consumeWatchEvents() async {
        for await event in watcher.events {
            switch event {
            case .candidate(let path):
                await settle.note(path)
            case .scanFinished(let files):
                context.logger.debug("drop scanned", metadata: ["files": "\(files)"])
            }
        }
    }

    /// Takes files from the ingest queue until it is closed and empty.
    func ingestWorker() async {
        while let path = await ingestQueue.pop() {
            await ingest(path)
            await ingestQueue.done(path)
        }
    }

    private func ingest(_ path: RawPath) async {
        guard let location = context.location(of: path) else { return }
        let config = context.config.current
        let ingestor = context.ingestor
        let start = ContinuousClock.now
        let backoff = self.backoff
        let attempt: IngestAttempt
        do {
            // A stop cut short by a second signal does not wait for this file: its move is journalled.
            attempt = try await context.blocking.runUnlessCancelled {
                // However the path came here (a settle round, the queue handing out a notice that came in
                // flight), a file in back-off is not tried before its time.
                if let status = try? FileOps.lstat(path) {
                    let hold = backoff.hold(path, status: status)
                    switch hold {
                    case .until(let next) where next > .now: return .held(hold)
                    case .givenUp: return .held(hold)
                    case .none, .until: break
                    }
                }
                #if DEBUG
                DebugFaults.ingestStarts()
                #endif
                return .done(
                    ingestor.ingestDropped(source: path, project: location.project, policy: IngestPolicy(config))
                )
            }
        } catch {
            // Abandoned by a stop: the journal puts the file right at the next start.
            return
        }
        guard case .done(let outcome) = attempt else {
            if case .held(.until(let next)) = attempt { await settle.note(path, after: next - .now) }
            return
        }
        context.metrics.ingestDuration.record(ContinuousClock.now - start)
        await handle(outcome, source: path)
    }

    /// How soon a file that waited for a lost catalog is tried again.
    static let catalogRetry = Duration.seconds(2)

    /// A worker's try at a file: done, or held back by the file's back-off.
    private enum IngestAttempt: Sendable {
        case done(IngestOutcome)
        case held(RetryBackoff.Hold)
    }

    /// Reports an outcome and schedules what follows it (thumbnail, another settle round).
    func handle(_ outcome: IngestOutcome, source: RawPath) async {
        await context.report(outcome, source: source.description)
        switch outcome {
        case .stored(let asset):
            backoff.succeeded(source)
            await accepted(asset)
        case .notReady:
            await settle.note(source, after: .milliseconds(context.config.current.settleMS))
        case .failed(let error):
            lastError.withLock { $0 = error }
            // The file is back in the drop already; it is tried again later and later, then only on a rescan.
            // Its identity tells the watcher's notice of its return from a new file under the same name.
            let identity = try? await context.blocking.run { try FileOps.lstat(source) }
            if let delay = backoff.failed(source, error: error, identity: identity ?? nil) {
                await settle.note(source, after: delay)
            }
        case .rejected, .vanished:
            backoff.succeeded(source)
        case .waitingForCatalog:
            // Not a failure of the file: it is tried again every few seconds, without back-off, so that ingest
            // resumes by itself soon after the catalog returns.
            await settle.note(source, after: Self.catalogRetry)
        }
    }

    /// What follows a stored file, dropped or uploaded: it counts, and it waits for its thumbnail.
    func accepted(_ asset: Asset) async {
        ingestedCount.add(1, ordering: .relaxed)
        thumbnails.wake()
    }

    /// Files ingested since start.
    var ingested: Int { ingestedCount.load(ordering: .relaxed) }

    /// The most recent ingest error, for `STATUS=`.
    var lastErrorText: String? { lastError.withLock { $0 } }

    /// Proves the pipeline's actors answer (the watchdog's liveness probe).
    func isAlive() async -> Bool {
        _ = await settle.count
        _ = await ingestQueue.depth
        return true
    }

    /// Reasons `/health` reports `degraded`.
    func degradedReasons() async -> [String] {
        var reasons: [String] = []
        let minimum = context.config.current.minFreeBytes
        if let free = FileOps.availableBytes(context.layout.root), free < minimum {
            reasons.append(
                "only \(free) bytes free on the storage filesystem (MIN_FREE_BYTES=\(minimum)); new files wait in the drop"
            )
        } else if let waiting = await settle.waitingReason {
            reasons.append(waiting)
        }
        if let unreachable = try? await context.withCatalog({ $0.checkReachable() }) {
            reasons.append(unreachable + "; new files wait in the drop")
        }
        if let waiting = backoff.waitingReason() { reasons.append(waiting) }
        let quarantined = Quarantine.contents(context.layout)
        if !quarantined.isEmpty {
            reasons.append(
                "\(quarantined.count) file(s) kept in STORAGE_PATH/.staging/quarantine because they could not be put "
                    + "back where they came from (see the log): " + quarantined.prefix(5).joined(separator: ", ")
            )
        }
        if watcher.dropMissing {
            reasons.append("the drop folder \(context.dropRoot) is missing; files are taken again once it exists")
        }
        if watcher.watchLimitReached {
            reasons.append(
                "inotify watch limit reached (fs.inotify.max_user_watches): some drop folders are not watched"
            )
        }
        return reasons
    }
}
