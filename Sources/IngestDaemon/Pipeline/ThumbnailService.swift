import Foundation
import Logging
import NIOPosix
import StorageKit
import Synchronization

/// Makes thumbnails for `ready` assets on dedicated threads (never the cooperative pool), `FFMPEG_THREADS`
/// at a time. The catalog is the queue's source of truth: at start-up every `ready` asset without a
/// thumbnail is queued again, and an attempt is recorded before each decode so that a decoder that crashes
/// the daemon twice marks its asset `failed` instead of starting a crash loop. Assets that were being rendered
/// when the daemon died are rendered alone afterwards, so a second death counts only against its cause.
final class ThumbnailService: Sendable {
    private let context: DaemonContext
    private let pool: NIOThreadPool
    private let queue = WorkQueue<String>()
    /// Assets whose render was in flight when the daemon last died: each is rendered alone.
    private let suspects = Mutex<Set<String>>([])
    private let gate = RenderGate()
    /// Set on shutdown: FFmpeg's interrupt callback polls it.
    private let stopping = Atomic<Bool>(false)
    static let maxWorkers = 16
    /// Longest one thumbnail may take.
    static let timeLimit = Duration.seconds(60)

    init(context: DaemonContext) {
        self.context = context
        pool = NIOThreadPool(numberOfThreads: Self.maxWorkers)
    }

    /// Assets waiting or being rendered.
    var depth: Int { get async { await queue.depth } }

    func enqueue(_ assetID: String) async { await queue.push(assetID) }

    /// Queues what the catalog says is missing; marks assets whose decoder crashed the daemon twice.
    func requeueFromCatalog() async throws {
        for asset in try await context.withCatalog({ try $0.assetsWithCrashedThumbnails() }) {
            await fail(asset, "decoder crashed twice while making the thumbnail; not tried again")
        }
        let interrupted = Set(try await context.withCatalog { try $0.assetsWithInterruptedThumbnail().map(\.id) })
        suspects.withLock { $0.formUnion(interrupted) }
        for asset in try await context.withCatalog({ try $0.assetsMissingThumbnail() }) { await queue.push(asset.id) }
    }

    /// Runs the workers until the queue closes.
    func run() async {
        pool.start()
        await withDiscardingTaskGroup { group in
            if context.catalog.isShared {
                group.addTask { await self.sweepLeases() }
            }
            await withDiscardingTaskGroup { workers in
                for index in 0..<Self.maxWorkers {
                    workers.addTask { await self.worker(index) }
                }
            }
            // The workers are done (the queue closed): the sweep stops too.
            group.cancelAll()
        }
        try? await pool.shutdownGracefully()
    }

    /// Stops promptly: queued work stays in the catalog for the next start; a running decode is interrupted.
    func stop() async {
        stopping.store(true, ordering: .relaxed)
        await queue.close()
        // Renders in progress see the flag in FFmpeg's interrupt callback and give their attempt back; wait
        // (up to 3 s) for that, so a stop is never counted as a decoder crash.
        let queue = self.queue
        _ = await withTimeLimit(.seconds(3)) { await queue.untilIdle() }
    }

    /// How often a node renews its leases and looks for work a lost node left behind.
    static let sweepInterval = Duration.seconds(10)

    /// With several nodes: every `sweepInterval`, renews this node's leases (the heartbeat of renders in
    /// progress) and takes over thumbnails whose lease lapsed (their node was lost) or that no node claimed.
    private func sweepLeases() async {
        while !Task.isCancelled {
            do { try await Task.sleep(for: Self.sweepInterval) } catch { return }
            if await queue.isClosed { return }
            let room = max(0, 2 * context.config.current.ffmpegThreads - (await queue.depth))
            let ids =
                (try? await context.withCatalog { catalog -> [String] in
                    try catalog.renewThumbnailLeases()
                    return room > 0 ? try catalog.claimOrphanedThumbnails(limit: room) : []
                }) ?? []
            for id in ids { await queue.push(id) }
        }
    }

    private func worker(_ index: Int) async {
        while true {
            let threads = context.config.current.ffmpegThreads
            if index >= threads {
                // Idle beyond FFMPEG_THREADS; a reload may raise it.
                if await queue.isClosed { return }
                try? await Task.sleep(for: .seconds(1))
                continue
            }
            guard let id = await queue.pop() else { return }
            let alone = suspects.withLock { $0.remove(id) != nil }
            await gate.enter(alone: alone)
            await render(id, workers: threads)
            await gate.leave(alone: alone)
            await queue.done(id)
        }
    }

    private func render(_ id: String, workers: Int) async {
        guard let asset = try? await context.withCatalog({ try $0.asset(id: id) }), asset.status == .ready,
            asset.thumbnailPath == nil
        else {
            return
        }
        let config = context.config.current
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let renderer = ThumbnailRenderer(width: config.thumbnailWidth, decoderThreads: max(1, cores / max(1, workers)))
        let start = ContinuousClock.now
        let outcome: Result<Thumbnail, any Error>
        do {
            // The claim counts the attempt and holds a lease: with several nodes, only one renders it.
            guard try await context.withCatalog({ try $0.claimThumbnail(id: id) }) != nil else { return }
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
                        shouldAbort: { [self] in self.stopping.load(ordering: .relaxed) },
                        timeLimit: Self.timeLimit
                    )
                }
            }
        } catch {
            outcome = .failure(error)
        }
        switch outcome {
        case .success(let thumbnail):
            await store(thumbnail, for: asset)
            context.metrics.thumbnailDuration.record(ContinuousClock.now - start)
        case .failure(let error as MediaError) where error.kind == .interrupted:
            _ = try? await context.withCatalog { try $0.resetThumbnailAttempts(id: id) }
        case .failure(let error as MediaError):
            _ = try? await context.withCatalog { try $0.resetThumbnailAttempts(id: id) }
            await fail(asset, "thumbnail: \(error.detail)")
        case .failure(let error as StorageError) where error.code == .catalogUnavailable:
            // The catalog was lost (its claim or a read failed), not the file: it is tried again shortly; the
            // attempt is given back once the catalog answers. Marking it failed would be a lie.
            context.logger.notice(
                "thumbnail waits for the catalog",
                metadata: ["asset.id": "\(asset.id)", "error": "\(error)"]
            )
            retryLater(id)
        case .failure(let error):
            _ = try? await context.withCatalog { try $0.resetThumbnailAttempts(id: id) }
            if self.stopping.load(ordering: .relaxed) { return }
            context.logger.error(
                "thumbnail failed",
                metadata: ["asset.id": "\(asset.id)", "error": "\(error)"]
            )
            await fail(asset, "thumbnail: " + UserWording.reason(error))
        }
    }

    private func store(_ thumbnail: Thumbnail, for asset: Asset) async {
        guard let project = ProjectID(exactly: asset.projectID) else { return }
        let name = ThumbnailNaming.name(forStored: asset.filename)
        do {
            let relative = try context.layout.relativePath(.thumbnails, project, name)
            try FileOps.makeDirectories(context.layout.projectPath(.thumbnails, project))
            try FileOps.writeAtomically(
                Array(thumbnail.jpeg),
                to: try context.layout.absolute(relative),
                replace: true,
                durable: false,
                temporaryDirectory: context.layout.stagingPath
            )
            guard var current = try await context.withCatalog({ try $0.asset(id: asset.id) }) else {
                // Deleted while rendering: the thumbnail has no owner.
                unlink(try context.layout.absolute(relative))
                return
            }
            current.thumbnailPath = relative
            current.updatedAt = ISO8601Millis.now()
            let ready = IngestEvent(
                type: .thumbnailReady,
                projectID: asset.projectID,
                assetID: asset.id,
                filename: asset.filename
            )
            // The record, the attempt counter and the event change together.
            let config = context.config.current
            let updated = current
            try await context.withCatalog { catalog in
                try catalog.write { tx in
                    try tx.update(updated)
                    try tx.resetThumbnailAttempts(id: asset.id)
                    _ = try tx.appendEvent(ready)
                    // The sprite and renditions follow the thumbnail, in the background.
                    try DerivedWork.enqueue(assetID: asset.id, config: config, in: tx)
                }
            }
            await context.events.catchUp()
            context.logger.info(
                "thumbnail ready",
                metadata: ["project.id": "\(asset.projectID)", "asset.id": "\(asset.id)", "filename": "\(relative)"]
            )
        } catch let error as StorageError where error.code == .catalogUnavailable {
            // Made, but not recorded: made again once the catalog is back.
            context.logger.notice("thumbnail waits for the catalog", metadata: ["asset.id": "\(asset.id)"])
            retryLater(asset.id)
        } catch {
            // The record speaks of the user's file; the log keeps the storage path for the operator.
            context.logger.error(
                "thumbnail could not be stored",
                metadata: ["project.id": "\(asset.projectID)", "asset.id": "\(asset.id)", "error": "\(error)"]
            )
            let why = UserWording.reason(error)
            await fail(
                asset,
                "the thumbnail of \(asset.projectID)/\(asset.originalFilename) could not be stored: \(why)"
            )
        }
    }

    /// Queues `id` again after a pause (the catalog was lost), giving its attempt back first when it can.
    private func retryLater(_ id: String) {
        let queue = self.queue
        let context = self.context
        Task {
            try? await Task.sleep(for: .seconds(2))
            _ = try? await context.withCatalog { try $0.resetThumbnailAttempts(id: id) }
            await queue.push(id)
        }
    }

    private func fail(_ asset: Asset, _ reason: String) async {
        guard var current = try? await context.withCatalog({ try $0.asset(id: asset.id) }) else { return }
        current.status = .failed
        current.error = reason
        current.updatedAt = ISO8601Millis.now()
        let failed = current
        _ = try? await context.withCatalog { try $0.update(failed) }
        context.metrics.failed.increment()
        context.logger.error(
            "asset failed",
            metadata: ["project.id": "\(asset.projectID)", "asset.id": "\(asset.id)", "error": "\(reason)"]
        )
        await context.events.publish(
            IngestEvent(
                type: .failed,
                projectID: asset.projectID,
                assetID: asset.id,
                filename: asset.filename,
                error: reason
            )
        )
    }
}
