import Foundation
import Logging
import NIOPosix
import StorageKit
import Synchronization

/// Makes thumbnails for `ready` assets on dedicated threads (never the cooperative pool), `FFMPEG_THREADS`
/// at a time. The work is the catalog's `thumbnail` jobs, queued with the `ready` record: a worker claims the
/// oldest under a lease (renewed while it renders, so a lost node's work passes to another) and the claim
/// counts an attempt, so a decoder that takes the daemon down twice marks its asset `failed` instead of
/// starting a crash loop. A job whose earlier attempt never ended (maybe because of another asset rendering
/// beside it) is claimed and rendered alone, so a second death counts only against its cause.
final class ThumbnailService: Sendable {
    private let context: DaemonContext
    private let pool: NIOThreadPool
    /// Rung when a thumbnail job is queued here (an ingest, a repair).
    private let doorbell = Doorbell()
    private let gate = RenderGate()
    /// The jobs rendering here: their leases are renewed.
    private let rendering = Mutex<Set<Int64>>([])
    /// Jobs rendering here that are no longer this node's: their renders stop.
    private let cancelled = Mutex<Set<Int64>>([])
    /// Set on shutdown: FFmpeg's interrupt callback polls it.
    private let stopping = Atomic<Bool>(false)
    /// Opened when `run()` has ended.
    private let ended = Latch()
    /// Opened by `stop()`.
    private let stopped = Latch()
    static let maxWorkers = 16
    /// Longest one thumbnail may take.
    static let timeLimit = Duration.seconds(60)
    /// How often leases are renewed, and how long an idle worker waits before it looks for work that no ring
    /// announced (queued by another node, or left by a lost one).
    static let sweepInterval = Duration.seconds(10)

    /// Called when a stored thumbnail queued the sprite and renditions that follow it.
    private let derivedWorkQueued: @Sendable () -> Void

    init(context: DaemonContext, derivedWorkQueued: @escaping @Sendable () -> Void = {}) {
        self.context = context
        self.derivedWorkQueued = derivedWorkQueued
        pool = NIOThreadPool(numberOfThreads: Self.maxWorkers)
    }

    /// Thumbnail jobs queued or running, on every node.
    var depth: Int {
        get async { (try? await context.withCatalog { try $0.pendingJobs(kinds: [.thumbnail]) }) ?? 0 }
    }

    /// Tells the workers that thumbnail jobs were queued.
    func wake() { doorbell.ring() }

    /// Runs the workers until `stop()`.
    func run() async {
        pool.start()
        await withDiscardingTaskGroup { group in
            group.addTask { await self.renewLeases() }
            await withDiscardingTaskGroup { workers in
                for index in 0..<Self.maxWorkers {
                    workers.addTask { await self.worker(index) }
                }
            }
            // The workers are done: the lease renewal stops too.
            group.cancelAll()
        }
        try? await pool.shutdownGracefully()
        ended.open()
    }

    /// Stops promptly: queued jobs stay in the catalog for the next start; a running decode is interrupted and
    /// gives its attempt back. Waits (up to 3 s) for that, so a stop is never counted as a decoder crash.
    func stop() async {
        stopping.store(true, ordering: .relaxed)
        stopped.open()
        doorbell.close()
        let ended = self.ended
        _ = await withTimeLimit(.seconds(3)) { await ended.wait() }
    }

    private var isStopping: Bool { stopping.load(ordering: .relaxed) }

    /// Every `sweepInterval`, renews the leases of the jobs rendering here.
    private func renewLeases() async {
        while !Task.isCancelled {
            do { try await Task.sleep(for: Self.sweepInterval) } catch { return }
            let ids = rendering.withLock { $0 }
            guard !ids.isEmpty else { continue }
            // A job no longer this node's (its asset deleted, its project purged, or taken over) stops rendering.
            let lost =
                (try? await context.withCatalog { catalog in
                    try ids.filter { try !catalog.heartbeatJob(id: $0) }
                }) ?? []
            if !lost.isEmpty { cancelled.withLock { $0.formUnion(lost) } }
        }
    }

    private func worker(_ index: Int) async {
        var lastSuspectLook = ContinuousClock.now
        while !isStopping {
            let threads = context.config.current.ffmpegThreads
            let seen = doorbell.generation
            if index >= threads {
                // Idle beyond FFMPEG_THREADS (a reload may raise it), taking no rings meant for the others.
                let stopped = self.stopped
                _ = await withTimeLimit(.seconds(1)) { await stopped.wait() }
                continue
            }
            // Jobs never tried render side by side. A suspect (an earlier attempt never ended) is claimed only
            // once the gate lets it run alone: its attempt is counted while nothing else renders, so a second
            // death is charged to it and to no other.
            // Suspects are looked for when no fresh job waits, and at least every `sweepInterval` whatever
            // waits: a lost node's jobs are suspects, and must not wait behind a long backlog.
            let lookForSuspects = ContinuousClock.now - lastSuspectLook >= Self.sweepInterval
            if !lookForSuspects, await renderNext(.fresh, workers: threads) { continue }
            lastSuspectLook = ContinuousClock.now
            let suspect = (try? await context.withCatalog { try $0.suspectJobWaits(kinds: [.thumbnail]) }) ?? false
            if suspect, await renderNext(.suspects, workers: threads) { continue }
            if lookForSuspects, await renderNext(.fresh, workers: threads) { continue }
            await doorbell.wait(after: seen, atMost: Self.sweepInterval)
        }
    }

    /// Claims the next job `among` inside the gate and renders it; false when none could be claimed.
    private func renderNext(_ among: Job.Attempted, workers: Int) async -> Bool {
        let alone = among == .suspects
        await gate.enter(alone: alone)
        // The job and its asset in one call.
        let claimed: (job: Job, asset: Result<Asset?, any Error>)?
        do {
            claimed = try await context.withCatalog { catalog in
                try catalog.claimJob(kinds: [.thumbnail], among: among).map { job in
                    (job, Result { try catalog.asset(id: job.assetID) })
                }
            }
        } catch {
            context.logger.debug("cannot claim a thumbnail job", metadata: ["error": "\(error)"])
            claimed = nil
        }
        if let (job, asset) = claimed {
            rendering.withLock { _ = $0.insert(job.id) }
            await render(job, asset, workers: workers)
            rendering.withLock { _ = $0.remove(job.id) }
            cancelled.withLock { _ = $0.remove(job.id) }
        }
        await gate.leave(alone: alone)
        return claimed != nil
    }

    private func render(_ job: Job, _ read: Result<Asset?, any Error>, workers: Int) async {
        let found: Asset?
        do {
            found = try read.get()
        } catch {
            waitForCatalog(job, error)
            return
        }
        guard let asset = found, asset.status == .ready, asset.thumbnailPath == nil else {
            // Deleted, failed or made since the job was queued: nothing to do.
            _ = try? await context.withCatalog { try $0.completeJob(id: job.id) }
            return
        }
        if job.attempts > Job.maxAttempts {
            await fail(job, asset, "decoder crashed twice while making the thumbnail; not tried again")
            return
        }
        let config = context.config.current
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let renderer = ThumbnailRenderer(width: config.thumbnailWidth, decoderThreads: max(1, cores / max(1, workers)))
        let start = ContinuousClock.now
        let outcome: Result<Thumbnail, any Error>
        do {
            #if DEBUG
            await DebugFaults.thumbnailRenderStarts(asset.originalFilename)
            #endif
            let path = try context.layout.absolute(asset.relativePath)
            let duration = asset.metadata?.durationSeconds
            outcome = try await pool.runIfActive {
                Result {
                    try renderer.render(
                        path: path,
                        displayName: "\(asset.projectID)/\(asset.originalFilename)",
                        durationHint: duration,
                        shouldAbort: { [self] in
                            self.isStopping || self.cancelled.withLock { $0.contains(job.id) }
                        },
                        timeLimit: Self.timeLimit
                    )
                }
            }
        } catch {
            outcome = .failure(error)
        }
        switch outcome {
        case .success(let thumbnail):
            await store(thumbnail, job: job, for: asset)
            context.metrics.thumbnailDuration.record(ContinuousClock.now - start)
        case .failure(let error as MediaError) where error.kind == .interrupted:
            _ = try? await context.withCatalog { try $0.releaseJob(job) }
        case .failure(let error as MediaError):
            await fail(job, asset, "thumbnail: \(error.detail)")
        case .failure(let error as StorageError) where error.code == .catalogUnavailable:
            waitForCatalog(job, error)
        case .failure(let error):
            if isStopping {
                _ = try? await context.withCatalog { try $0.releaseJob(job) }
                return
            }
            context.logger.error(
                "thumbnail failed",
                metadata: ["asset.id": "\(asset.id)", "error": "\(error)"]
            )
            await fail(job, asset, "thumbnail: " + UserWording.reason(error))
        }
    }

    private func store(_ thumbnail: Thumbnail, job: Job, for asset: Asset) async {
        guard let project = ProjectID(exactly: asset.projectID) else { return }
        let name = ThumbnailNaming.name(forStored: asset.filename)
        do {
            let layout = context.layout
            let relative = try layout.relativePath(.thumbnails, project, name)
            let target = try layout.absolute(relative)
            let jpeg = Array(thumbnail.jpeg)
            let ready = IngestEvent(
                type: .thumbnailReady,
                projectID: asset.projectID,
                assetID: asset.id,
                filename: asset.filename
            )
            let config = context.config.current
            // The file, then the record, the job and the event together, in one call to the blocking threads.
            let recorded = try await context.withCatalog { catalog in
                try FileOps.makeDirectories(layout.projectPath(.thumbnails, project))
                _ = try FileOps.writeAtomically(
                    jpeg,
                    to: target,
                    replace: true,
                    durable: false,
                    temporaryDirectory: layout.stagingPath
                )
                return try catalog.write { tx -> Bool in
                    guard var current = try tx.asset(id: asset.id) else { return false }
                    current.thumbnailPath = relative
                    current.updatedAt = ISO8601Millis.now()
                    try tx.update(current)
                    try tx.completeJob(id: job.id)
                    _ = try tx.appendEvent(ready)
                    // The sprite and renditions follow the thumbnail, in the background.
                    try DerivedWork.enqueue(assetID: asset.id, config: config, in: tx)
                    return true
                }
            }
            guard recorded else {
                // Deleted while rendering: the thumbnail has no owner.
                _ = try? await context.blocking.run { unlink(target) }
                return
            }
            context.events.catchUpSoon()
            derivedWorkQueued()
            context.logger.info(
                "thumbnail ready",
                metadata: ["project.id": "\(asset.projectID)", "asset.id": "\(asset.id)", "filename": "\(relative)"]
            )
        } catch let error as StorageError where error.code == .catalogUnavailable {
            // Made, but not recorded: made again once the catalog is back.
            waitForCatalog(job, error)
        } catch {
            // The record speaks of the user's file; the log keeps the storage path for the operator.
            context.logger.error(
                "thumbnail could not be stored",
                metadata: ["project.id": "\(asset.projectID)", "asset.id": "\(asset.id)", "error": "\(error)"]
            )
            let why = UserWording.reason(error)
            await fail(
                job,
                asset,
                "the thumbnail of \(asset.projectID)/\(asset.originalFilename) could not be stored: \(why)"
            )
        }
    }

    /// The catalog was lost (a read, the record or the file's claim failed), not the file: the job is tried
    /// again once the catalog answers, its attempt given back. Marking the asset failed would be a lie.
    private func waitForCatalog(_ job: Job, _ error: any Error) {
        context.logger.notice(
            "thumbnail waits for the catalog",
            metadata: ["asset.id": "\(job.assetID)", "error": "\(error)"]
        )
        Task { [self] in
            // The release names this claim: a later claim of the same job (the lease lapsed meanwhile) is left
            // alone. A stop still gets one last try, so that it is not counted as a crash.
            repeat {
                try? await Task.sleep(for: .seconds(2))
                if (try? await context.withCatalog({ try $0.releaseJob(job) })) != nil { break }
            } while !isStopping
            doorbell.ring()
        }
    }

    /// Gives `job` up and marks its asset `failed` with `reason` (the thumbnail is part of ingest), together in
    /// one transaction; nothing when the claim was lost meanwhile (another node has the job) or the asset has its
    /// thumbnail or is gone.
    private func fail(_ job: Job, _ asset: Asset, _ reason: String) async {
        let failed = try? await context.withCatalog { catalog in
            try catalog.write { tx -> Bool in
                guard var current = try tx.asset(id: asset.id), current.thumbnailPath == nil,
                    try tx.failJob(job, error: reason)
                else { return false }
                current.status = .failed
                current.error = reason
                current.updatedAt = ISO8601Millis.now()
                try tx.update(current)
                return true
            }
        }
        guard failed == true else { return }
        context.metrics.failed.increment()
        context.logger.error(
            "asset failed",
            metadata: ["project.id": "\(asset.projectID)", "asset.id": "\(asset.id)", "error": "\(reason)"]
        )
        await context.publishFailure(of: asset, error: reason)
    }
}
