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
    let context: DaemonContext
    private let pool: NIOThreadPool
    /// Rung when a thumbnail job is queued here (an ingest, a repair).
    let doorbell = Doorbell()
    private let gate = RenderGate()
    /// The jobs claimed here, held or rendering or waiting to be stored: their leases are renewed.
    private let leases = JobLeases(renewedEvery: sweepInterval)
    /// Whether the last claim found a job: thumbnails have a backlog.
    private let claimedLast = Atomic<Bool>(false)
    /// Requested on shutdown: FFmpeg's interrupt callback polls it.
    private let stopping = WorkerStop()
    static let maxWorkers = 16
    /// Longest one thumbnail may take.
    static let timeLimit = Duration.seconds(60)
    /// How often leases are renewed, and how long an idle worker waits before it looks for work that no ring
    /// announced (queued by another node, or left by a lost one).
    static let sweepInterval = Duration.seconds(10)

    /// Called when a stored thumbnail queued the sprite and renditions that follow it.
    let derivedWorkQueued: @Sendable () -> Void
    /// Called when the service may have stopped being busy (`isBusy`): a claim found nothing, or the last job
    /// held here ended.
    private let mayBeIdle: @Sendable () -> Void

    init(
        context: DaemonContext,
        derivedWorkQueued: @escaping @Sendable () -> Void = {},
        mayBeIdle: @escaping @Sendable () -> Void = {}
    ) {
        self.context = context
        self.derivedWorkQueued = derivedWorkQueued
        self.mayBeIdle = mayBeIdle
        pool = NIOThreadPool(numberOfThreads: Self.maxWorkers)
    }

    /// Thumbnail jobs queued or running, on every node.
    var depth: Int {
        get async { (try? await context.withCatalog { try $0.pendingJobs(kinds: [.thumbnail]) }) ?? 0 }
    }

    /// Whether thumbnails are being made here, or waiting to be.
    var isBusy: Bool { claimedLast.load(ordering: .relaxed) || !leases.isEmpty }

    /// Tells the workers that thumbnail jobs were queued.
    func wake() { doorbell.ring() }

    /// Runs the workers until `stop()`.
    func run() async {
        pool.start()
        await withDiscardingTaskGroup { group in
            group.addTask { await self.leases.renew(in: self.context) }
            await withDiscardingTaskGroup { workers in
                for index in 0..<Self.maxWorkers {
                    workers.addTask { await self.worker(index) }
                }
            }
            // The workers are done: the lease renewal stops too.
            group.cancelAll()
        }
        try? await pool.shutdownGracefully()
        stopping.runEnded()
    }

    /// Stops promptly: queued jobs stay in the catalog for the next start; a running decode is interrupted and
    /// gives its attempt back. Waits (up to 3 s) for that, so a stop is never counted as a decoder crash.
    func stop() async {
        stopping.request()
        doorbell.close()
        await stopping.waitForRunToEnd()
    }

    var isStopping: Bool { stopping.isRequested }

    private func worker(_ index: Int) async {
        // A made thumbnail is stored (file, record, event) while the worker renders the next one: FFMPEG_THREADS
        // bounds the decodes, and a store waits for the disk and the catalog, not for a decoder. One store at a
        // time per worker.
        await withTaskGroup(of: Void.self) { stores in
            var storing = false
            var lastSuspectLook = ContinuousClock.now
            var batch: [Claimed] = []
            func next(_ among: Job.Attempted, workers: Int) async -> Bool {
                guard let made = await renderNext(among, workers: workers, batch: &batch) else { return false }
                guard let made else { return true }
                if storing { await stores.next() }
                stores.addTask { await self.store(made) }
                storing = true
                return true
            }
            while !isStopping {
                let threads = context.config.current.ffmpegThreads
                let seen = doorbell.generation
                if index >= threads {
                    // Idle beyond FFMPEG_THREADS (a reload may raise it), taking no rings meant for the others.
                    await release(&batch)
                    let stopped = stopping.requested
                    _ = await withTimeLimit(.seconds(1)) { await stopped.wait() }
                    continue
                }
                // Jobs never tried render side by side. A suspect (an earlier attempt never ended) is claimed
                // only once the gate lets it run alone: its attempt is counted while nothing else renders, so a
                // second death is charged to it and to no other.
                // Suspects are looked for when no fresh job waits, and at least every `sweepInterval` whatever
                // waits: a lost node's jobs are suspects, and must not wait behind a long backlog.
                let lookForSuspects = ContinuousClock.now - lastSuspectLook >= Self.sweepInterval
                if !lookForSuspects, await next(.fresh, workers: threads) { continue }
                lastSuspectLook = ContinuousClock.now
                let suspect =
                    (try? await context.withCatalog { try $0.suspectJobWaits(kinds: [.thumbnail]) }) ?? false
                if suspect, await next(.suspects, workers: threads) { continue }
                if lookForSuspects, await next(.fresh, workers: threads) { continue }
                await doorbell.wait(after: seen, atMost: Self.sweepInterval)
            }
            await release(&batch)
        }
    }

    /// Gives the jobs of `batch` back in one write: held by a claim and never started, their attempts as they
    /// were.
    private func release(_ batch: inout [Claimed]) async {
        guard !batch.isEmpty else { return }
        let held = batch.map(\.job)
        batch = []
        _ = try? await context.withCatalog { try $0.releaseHeldJobs(held) }
        for job in held { finished(job) }
    }

    /// A claimed job and its asset as read at the claim; `started` once its attempt is counted (the first of a
    /// claim is started by it, the others are held until `start(_:)`).
    private struct Claimed {
        var job: Job
        let asset: Result<Asset?, any Error>
        var started: Bool
    }

    /// Fresh jobs one claim takes: a claim is a write that waits for the catalog's writer behind every ingest,
    /// and rendering a clip's thumbnail takes less time than that wait in a burst. One on a shared catalog, where
    /// a job held here would be one another node could be rendering.
    static let claimBatch = 4

    /// A rendered thumbnail waiting to be stored: its job stays in `leases` (its lease renewed) until then.
    struct Made: Sendable {
        let thumbnail: Thumbnail
        let job: Job
        let asset: Asset
        let started: ContinuousClock.Instant
    }

    /// Renders the next job `among`, inside the gate: the first of `batch`, which a claim refills when it is
    /// empty (suspects are claimed one at a time, when they are to render). Answers nil when there was no job,
    /// `.some(nil)` when the job ended without a thumbnail to store (failed, released, nothing to do).
    private func renderNext(_ among: Job.Attempted, workers: Int, batch: inout [Claimed]) async -> Made?? {
        let alone = among == .suspects
        await gate.enter(alone: alone)
        if isStopping {
            await gate.leave(alone: alone)
            return nil
        }
        if alone || batch.isEmpty {
            let claimed = await claim(among, atMost: alone ? 1 : Self.claimBatch)
            if alone { batch.insert(contentsOf: claimed, at: 0) } else { batch = claimed }
            claimedLast.store(!claimed.isEmpty, ordering: .relaxed)
            if claimed.isEmpty {
                mayBeIdle()
                await gate.leave(alone: alone)
                return nil
            }
        }
        var next = batch.removeFirst()
        if !next.started {
            guard let started = await start(next.job) else {
                await gate.leave(alone: alone)
                finished(next.job)
                return .some(nil)
            }
            next.job = started
        }
        let made = await render(next.job, next.asset, workers: workers)
        await gate.leave(alone: alone)
        if made == nil { finished(next.job) }
        return .some(made)
    }

    /// Starts a job a claim held (its attempt counted now, its lease renewed); nil when it is not to be rendered:
    /// the claim was lost meanwhile (its asset deleted, or another node took it over), or the catalog is gone
    /// (the job is given back once it answers).
    private func start(_ held: Job) async -> Job? {
        do {
            return try await context.withCatalog { try $0.startJob(held) }
        } catch {
            waitForCatalog(held, error, started: false)
            return nil
        }
    }

    /// Claims up to `atMost` jobs `among`, with their assets, in one call; their leases are renewed from now on.
    private func claim(_ among: Job.Attempted, atMost: Int) async -> [Claimed] {
        do {
            let claimed = try await context.withCatalog { catalog in
                let jobs = try catalog.claimJobs(
                    kinds: [.thumbnail],
                    among: among,
                    atMost: catalog.isShared ? 1 : atMost
                )
                return jobs.enumerated().map { index, job in
                    Claimed(job: job, asset: Result { try catalog.asset(id: job.assetID) }, started: index == 0)
                }
            }
            leases.hold(claimed.map(\.job))
            return claimed
        } catch {
            context.logger.debug("cannot claim a thumbnail job", metadata: ["error": "\(error)"])
            return []
        }
    }

    /// `job` is no longer this worker's: its lease is not renewed any more.
    func finished(_ job: Job) {
        leases.letGo(job)
        if leases.isEmpty { mayBeIdle() }
    }

    /// Renders the thumbnail of `job`'s asset; nil when there is none to store (the job's end is recorded).
    private func render(_ job: Job, _ read: Result<Asset?, any Error>, workers: Int) async -> Made? {
        let found: Asset?
        do {
            found = try read.get()
        } catch {
            waitForCatalog(job, error)
            return nil
        }
        guard let asset = found, asset.status == .ready, asset.thumbnailPath == nil else {
            // Deleted, failed or made since the job was queued: nothing to do.
            _ = try? await context.withCatalog { try $0.completeJob(id: job.id) }
            return nil
        }
        if job.attempts > Job.maxAttempts {
            await fail(job, asset, "decoder crashed twice while making the thumbnail; not tried again")
            return nil
        }
        let config = context.config.current
        let cores = DaemonContext.processors
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
                            self.isStopping || self.leases.isLost(job)
                        },
                        timeLimit: Self.timeLimit,
                        formatName: asset.metadata?.formatName
                    )
                }
            }
        } catch {
            outcome = .failure(error)
        }
        switch outcome {
        case .success(let thumbnail):
            return Made(thumbnail: thumbnail, job: job, asset: asset, started: start)
        case .failure(let error as MediaError) where error.kind == .interrupted:
            _ = try? await context.withCatalog { try $0.releaseJob(job) }
        case .failure(let error as MediaError):
            await fail(job, asset, "thumbnail: \(error.detail)")
        case .failure(let error as StorageError) where error.code == .catalogUnavailable:
            waitForCatalog(job, error)
        case .failure(let error):
            if isStopping {
                _ = try? await context.withCatalog { try $0.releaseJob(job) }
                return nil
            }
            context.logger.error(
                "thumbnail failed",
                metadata: ["asset.id": "\(asset.id)", "error": "\(error)"]
            )
            await fail(job, asset, "thumbnail: " + UserWording.reason(error))
        }
        return nil
    }
}
