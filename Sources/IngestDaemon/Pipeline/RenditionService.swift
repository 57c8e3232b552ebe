import Foundation
import Logging
import NIOPosix
import StorageKit
import Synchronization

/// Runs the catalog's sprite and rendition jobs in the background, one at a time on a dedicated thread (the
/// encoders use up to `FFMPEG_THREADS` threads each). That thread, and the encoder threads it starts, run at
/// ``backgroundNice``: ingest and thumbnails take the CPU first, encodes take what they leave. A job is claimed under a lease that a heartbeat renews;
/// the claim counts an attempt, so a job whose decoder takes the process down twice is given up (a `failed`
/// event names the step, the asset stays `ready`). SIGTERM interrupts a running encode through FFmpeg's
/// interrupt callback and gives the attempt back: the job starts again at the next start.
final class RenditionService: Sendable {
    let context: DaemonContext
    private let pool = NIOThreadPool(numberOfThreads: 1)
    /// Requested on shutdown; its run ends once the running job is interrupted and released.
    private let stopping = WorkerStop()
    /// The job running and its asset, so that deleting the asset stops the work at once.
    private let current = Mutex<(job: Job, asset: Asset)?>(nil)
    /// How often a running job renews its lease.
    static let heartbeatInterval = Duration.seconds(10)
    /// The running job's lease, renewed every `heartbeatInterval`.
    private let leases = JobLeases(renewedEvery: heartbeatInterval)
    /// How long the idle worker waits, unless rung, before it looks for jobs another node queued.
    static let idleWait = Duration.seconds(5)
    /// Rung when a sprite or rendition job is queued here.
    private let doorbell = Doorbell()
    /// The nice value of the service's thread: a CFS weight of about a tenth of a normal thread's.
    static let backgroundNice: Int32 = 10

    /// Whether ingest or thumbnails have work on this node: the worker claims nothing while they do.
    private let foregroundBusy: @Sendable () async -> Bool
    /// Rung by ingest and thumbnails when they may have run out of work: a yielding worker looks again then,
    /// not on a timer.
    private let foregroundIdle: Doorbell
    /// Longest the worker yields to a busy foreground before it takes one job anyway, so that a steady stream
    /// of drops never starves sprites and renditions.
    let longestYield: Duration

    init(
        context: DaemonContext,
        longestYield: Duration = .seconds(30),
        foregroundIdle: Doorbell = Doorbell(),
        foregroundBusy: @escaping @Sendable () async -> Bool = { false }
    ) {
        self.context = context
        self.longestYield = longestYield
        self.foregroundIdle = foregroundIdle
        self.foregroundBusy = foregroundBusy
    }

    /// Sprite and rendition jobs queued or running, on every node.
    var depth: Int {
        get async { (try? await context.withCatalog { try $0.pendingJobs(kinds: DerivedWork.kinds) }) ?? 0 }
    }

    /// Claims and runs jobs until `stop()`.
    func run() async {
        pool.start()
        await lowerPriority()
        let renewal = Task { await leases.renew(in: context) }
        defer { renewal.cancel() }
        while !stopping.isRequested {
            await yieldToForeground()
            let seen = doorbell.generation
            let job: Job?
            do {
                job = try await context.withCatalog { try $0.claimJob(kinds: DerivedWork.kinds) }
            } catch is CancellationError {
                job = nil
            } catch {
                context.logger.warning("cannot claim a background job", metadata: ["error": "\(error)"])
                job = nil
            }
            guard let job else {
                await doorbell.wait(after: seen, atMost: Self.idleWait)
                continue
            }
            await perform(job)
        }
        try? await pool.shutdownGracefully()
        stopping.runEnded()
    }

    /// Waits while ingest or thumbnails are busy here, at most ``longestYield``: a burst of drops is stored and
    /// shown first, and its encodes' CPU, threads and catalog writes come after. Looks again only when the
    /// foreground rings ``foregroundIdle`` (or at the deadline, or on stop).
    private func yieldToForeground() async {
        let deadline = ContinuousClock.now + longestYield
        while !stopping.isRequested {
            let seen = foregroundIdle.generation
            let left = deadline - ContinuousClock.now
            guard left > .zero, await foregroundBusy() else { return }
            await foregroundIdle.wait(after: seen, atMost: left)
        }
    }

    /// Moves the service's thread to ``backgroundNice``; threads it starts later inherit the value.
    private func lowerPriority() async {
        let raised = await offload { () throws(MediaError) -> String? in
            do throws(StorageError) {
                try ThreadNice.set(max(Self.backgroundNice, (try? ThreadNice.current) ?? 0))
                return nil
            } catch { return error.message }
        }
        if case .success(let error?) = raised {
            context.logger.warning("encodes run at normal priority", metadata: ["error": "\(error)"])
        }
    }

    /// Tells the worker that sprite or rendition jobs were queued.
    func wake() { doorbell.ring() }

    /// Stops claiming; a running job is interrupted and released (waits up to 3 s for that).
    func stop() async {
        stopping.request()
        doorbell.close()
        foregroundIdle.close()
        await stopping.waitForRunToEnd()
    }

    /// Interrupts the running job if it belongs to `assetID` (deleted) or to `project` (purged).
    func cancelRunning(assetID: String? = nil, project: String? = nil) {
        let job = current.withLock { running -> Job? in
            guard let running, running.asset.id == assetID || running.asset.projectID == project else { return nil }
            return running.job
        }
        if let job { leases.markLost(job) }
    }

    private func perform(_ job: Job) async {
        guard let asset = try? await context.withCatalog({ try $0.asset(id: job.assetID) }), asset.status == .ready
        else {
            // The asset went away (or failed) since the job was queued.
            _ = try? await context.withCatalog { try $0.completeJob(id: job.id) }
            return
        }
        // The job is this node's now: what earlier attempts left half-written goes.
        let store = ProcessedStore(layout: context.layout)
        let node = context.catalog.nodeID
        let leftovers =
            (try? await context.blocking.run { store.removeLeftovers(of: asset, for: job.kind, node: node) }) ?? 0
        if leftovers > 0 {
            context.logger.notice(
                "removed half-written files of an earlier attempt",
                metadata: ["asset.id": "\(asset.id)", "job": "\(job.kind.rawValue)", "files": "\(leftovers)"]
            )
        }
        let step = job.kind == .sprite ? "sprite" : "rendition"
        if job.attempts > Job.maxAttempts {
            let what = job.kind == .sprite ? "the sprite sheet" : "the renditions"
            let error =
                "\(what) of \(asset.projectID)/\(asset.originalFilename): the decoder crashed twice; not tried again"
            await giveUp(job, asset, step: step, error: error)
            return
        }
        leases.hold([job])
        current.withLock { $0 = (job, asset) }
        defer {
            current.withLock { $0 = nil }
            leases.letGo(job)
        }
        let shouldAbort: @Sendable () -> Bool = { [self] in
            self.stopping.isRequested || self.leases.isLost(job)
        }
        let outcome: JobOutcome
        switch job.kind {
        case .sprite: outcome = await makeSprite(job, asset, shouldAbort: shouldAbort)
        case .renditions: outcome = await makeRenditions(job, asset, shouldAbort: shouldAbort)
        case .thumbnail:
            outcome = .failed(
                step: "thumbnail",
                rendition: nil,
                error: "thumbnail jobs are run by the thumbnail service"
            )
        }
        switch outcome {
        case .done:
            _ = try? await context.withCatalog { try $0.completeJob(id: job.id) }
        case .interrupted:
            if leases.isLost(job) { return }  // cancelled or taken over: the row is not this claim's any more
            _ = try? await context.withCatalog { try $0.releaseJob(job) }
        case .failed(let failedStep, let rendition, let error):
            await giveUp(job, asset, step: failedStep, rendition: rendition, error: error)
        }
    }

    /// Marks `job` failed for good and says so: log, metric, `failed` event naming the step (and the rendition).
    private func giveUp(_ job: Job, _ asset: Asset, step: String, rendition: String? = nil, error: String) async {
        // Lost meanwhile (the lease lapsed and another node has the job): its outcome is that node's to tell.
        guard (try? await context.withCatalog({ try $0.failJob(job, error: error) })) == true else { return }
        context.metrics.countDerivedFailure(step: step)
        context.logger.error(
            "background step failed; the asset stays ready",
            metadata: [
                "project.id": "\(asset.projectID)", "asset.id": "\(asset.id)", "step": "\(step)",
                "rendition": "\(rendition ?? "")", "error": "\(error)",
            ]
        )
        await context.events.publish(.failed(asset, step: step, rendition: rendition, error: error))
    }

    /// Runs `body` on the service's thread; `.interrupted` when the pool is shutting down.
    ///
    /// The result reaches the caller through an event loop, never straight from the service's thread: a task
    /// resumed there could make the runtime start its worker threads from it, and they would inherit its
    /// nice value.
    func offload<T: Sendable>(_ body: @escaping @Sendable () throws(MediaError) -> T) async -> Result<T, MediaError> {
        do {
            return try await pool.runIfActive(eventLoop: MultiThreadedEventLoopGroup.singleton.any()) {
                () -> Result<T, MediaError> in
                do throws(MediaError) { return .success(try body()) } catch { return .failure(error) }
            }.get()
        } catch {
            return .failure(MediaError(.interrupted, "The daemon is stopping."))
        }
    }
}

/// How a job ended.
enum JobOutcome: Sendable {
    case done
    /// Stopped on request (shutdown or cancellation): not an attempt.
    case interrupted
    /// `step` (`sprite`, `rendition`; for one rendition, its name in `rendition`) failed for good with `error`,
    /// which names the file as the user did and no internal path.
    case failed(step: String, rendition: String?, error: String)
}
