import Foundation
import NIOHTTP1
import NIOPosix
import StorageKit

/// `GET /health`.
struct HealthReport: Encodable, Sendable {
    struct Queues: Encodable, Sendable {
        /// Files waiting to settle, queued, or being ingested.
        let ingest: Int
        let thumbnails: Int
        /// Rendition and sprite jobs waiting or running.
        let renditions: Int
        /// The part of `ingest` still waiting to be complete (a writer, SETTLE_MS, a `.part` sibling, free space).
        let settling: Int
    }
    let status: String
    /// `NODE_ID`.
    let node: String
    let version: String
    let uptimeSeconds: Double
    let queues: Queues
    let reasons: [String]?
    let ingested: Int

    /// In the SPEC's order (a synthesized encoding follows the order of these cases).
    enum CodingKeys: String, SnakeCaseCodingKey {
        case status, node, version, uptimeSeconds, queues, reasons, ingested
    }
}

/// The daemon's answers to the control API.
extension Daemon: ControlBackend {
    func health() async -> any Encodable & Sendable {
        let reasons = await degradedReasons()
        let settling = await settle.count
        let uptime = ContinuousClock.now - context.startedAt
        return HealthReport(
            status: reasons.isEmpty ? "ok" : "degraded",
            node: context.catalog.nodeID,
            version: IngestdVersion.string,
            uptimeSeconds: ((Double(uptime.components.seconds) + Double(uptime.components.attoseconds) / 1e18) * 1000)
                .rounded() / 1000,
            // `ingest` counts every file the daemon knows and has not finished: settling, queued or in flight.
            queues: .init(
                ingest: settling + (await ingestQueue.depth),
                thumbnails: await thumbnails.depth,
                renditions: await renditions.depth,
                settling: settling
            ),
            reasons: reasons.isEmpty ? nil : reasons,
            ingested: ingested
        )
    }

    func storageStats(project: ProjectID?) async throws -> any Encodable & Sendable {
        let layout = context.layout
        return try await context.blocking.run {
            try StorageStatistics.compute(layout: layout, project: project)
        }
    }

    func listAssets(project: ProjectID, limit: Int?, after: String?) async throws -> [Asset] {
        try await context.withCatalog { try $0.list(project: project, limit: limit, after: after) }
    }

    func asset(project: ProjectID, id: String) async throws -> Asset? {
        try await context.withCatalog { try $0.asset(project: project, id: id) }
    }

    func deleteAsset(project: ProjectID, id: String) async throws -> Bool {
        guard let asset = try await context.withCatalog({ try $0.asset(project: project, id: id) }) else {
            return false
        }
        // The record goes first: a crash after it leaves files that repair reports, never a record without a file.
        _ = try await context.withCatalog { catalog in
            try catalog.write { tx in
                try tx.cancelJobs(assetID: asset.id)
                return try tx.delete(id: asset.id)
            }
        }
        renditions.cancelRunning(assetID: asset.id)
        let files = AssetFiles(layout: context.layout)
        // The record is gone either way: the event is sent, and files that stayed make the request fail.
        var stayed: (any Error)?
        do {
            try await context.blocking.run { try files.remove(asset) }
            context.logger.notice(
                "deleted",
                metadata: ["project.id": "\(project)", "asset.id": "\(asset.id)", "filename": "\(asset.filename)"]
            )
        } catch {
            stayed = error
            context.logger.error(
                "deleted from the catalog, but files stayed",
                metadata: ["project.id": "\(project)", "asset.id": "\(asset.id)", "error": "\(error)"]
            )
        }
        await context.events.publish(
            IngestEvent(.deleted, about: asset)
        )
        // Its message names the files that stayed by their storage-relative paths (as records do), never absolute.
        if let stayed { throw stayed }
        return true
    }

    func purgeProject(_ project: ProjectID) async throws -> any Encodable & Sendable {
        let layout = context.layout
        let catalog = context.catalog
        renditions.cancelRunning(project: project.rawValue)
        let summary = try await runDeliveringEvents {
            #if DEBUG
            try ProjectPurge.purge(project: project, layout: layout, catalog: catalog) { DebugFaults.purgeReached($0) }
            #else
            try ProjectPurge.purge(project: project, layout: layout, catalog: catalog)
            #endif
        }
        context.logger.notice(
            "project storage deleted",
            metadata: [
                "project.id": "\(project)", "files_removed": "\(summary.filesRemoved)",
                "bytes_freed": "\(summary.bytesFreed)",
            ]
        )
        // Each removed record's `deleted` event was appended with its removal; the project's own event follows
        // when anything was there to remove (purging a project that never existed announces nothing).
        if summary.recordsRemoved > 0 || summary.filesRemoved > 0 {
            await context.events.publish(IngestEvent(.deleted, project: project.rawValue))
        }
        return summary
    }

    func rescan() async {
        // "Fix the cause, then rescan": files that failed are tried once more now.
        backoff.retryAllNow()
        watcher.requestRescan()
    }

    func repair(dryRun: Bool) async throws -> any Encodable & Sendable {
        let layout = context.layout
        let catalog = context.catalog
        let logger = context.logger
        let config = context.config.current
        // Work a node left when it stopped running is taken over first: repair then sees its files in place.
        if !dryRun { await takeOverLostNodes() }
        let summary = try await runDeliveringEvents {
            try Repair.run(layout: layout, catalog: catalog, dryRun: dryRun, logger: logger, config: config)
        }
        thumbnails.wake()
        renditions.wake()
        return summary
    }

    /// Runs `work` (a purge, a repair) on the blocking threads, then delivers the events its transactions
    /// appended with their changes, whether it finished or stopped part-way: what it committed happened.
    private func runDeliveringEvents<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        do {
            let result = try await context.blocking.run(work)
            await context.events.catchUp()
            return result
        } catch {
            await context.events.catchUp()
            throw error
        }
    }

    func rejected(project: ProjectID) async throws -> any Encodable & Sendable {
        let store = context.ingestor.rejected
        return try await context.blocking.run { try store.list(project: project) }
    }

    func retryRejected(project: ProjectID, name: String) async throws -> Bool {
        // Back into the drop under the project's folder: the watcher takes it from there, and a crash leaves it
        // in the drop.
        let store = context.ingestor.rejected
        let dropRoot = context.dropRoot
        let restored: RejectedStore.Restored?
        do {
            restored = try await context.blocking.run {
                try store.restore(name: name, project: project, dropRoot: dropRoot)
            }
        } catch let error as StorageError where error.errno != nil {
            // A failed system call names paths: the answer says which file and why, the log the rest.
            throw ControlAPIError(
                status: .internalServerError,
                error: "internal_error",
                detail: "\(name) of project \(project) could not go back into the drop: \(UserWording.reason(error))",
                cause: "\(error)"
            )
        }
        switch restored {
        case nil:
            return false
        case .inDrop(let path):
            context.logger.notice(
                "rejected file retried",
                metadata: ["project.id": "\(project)", "filename": "\(name)"]
            )
            await settle.note(path)
        case .crossDevice(let path):
            // Drop on another filesystem: ingest it straight from rejected/.
            let config = context.config.current
            let ingestor = context.ingestor
            let outcome = try await context.blocking.run {
                ingestor.ingestDropped(source: path, project: project, policy: IngestPolicy(config))
            }
            await handle(outcome, source: path)
        }
        return true
    }

    func events(since: Int64?) async throws -> AsyncStream<[UInt8]> {
        try await context.events.subscribe(since: since)
    }

    func metrics() async -> String {
        context.metrics.ingestQueue.set(Double(await ingestQueue.depth))
        context.metrics.thumbnailQueue.set(Double(await thumbnails.depth))
        context.metrics.renditionQueue.set(Double(await renditions.depth))
        context.metrics.settleQueue.set(Double(await settle.count))
        let catalogPath = context.layout.catalogPath
        if let st = try? await context.blocking.run({ try FileOps.lstat(catalogPath) }) {
            context.metrics.catalogBytes.set(Double(st.size))
        }
        return context.metrics.render()
    }

    var uploadLimits: UploadLimits {
        get async {
            let config = context.config.current
            return UploadLimits(
                maxSize: config.uploadMaxSize,
                allowedExtensions: config.allowedExtensions,
                stagingDirectory: context.ingestor.stagingFolder,
                minFreeBytes: config.minFreeBytes
            )
        }
    }

    func ingestUpload(
        project: ProjectID,
        originalFilename: String,
        stagedFile: String,
        size: Int64,
        sha256: String
    )
        async throws -> UploadOutcome
    {
        // With the catalog known to be lost, the upload would wait for it (a write waits up to 5 minutes): answer
        // 503 at once instead (the handler removes the staged bytes); nothing was acknowledged, the client retries.
        if let reason = context.catalog.unavailableReason {
            throw StorageError(
                code: .catalogUnavailable,
                message: reason + "; nothing was stored, try again once the catalog is back"
            )
        }
        let config = context.config.current
        let ingestor = context.ingestor
        let outcome = try await context.blocking.run {
            ingestor.ingestUpload(
                staged: stagedFile,
                originalFilename: originalFilename,
                project: project,
                size: size,
                checksum: sha256,
                policy: IngestPolicy(config)
            )
        }
        await context.report(outcome, source: originalFilename)
        switch outcome {
        case .stored(let asset):
            await accepted(asset)
            return .stored(asset)
        case .rejected(let rejection, _, _):
            return .rejected(rejection)
        case .failed(let error):
            throw ControlAPIError(status: .internalServerError, error: "ingest_failed", detail: error)
        case .waitingForCatalog(let reason):
            throw StorageError(
                code: .catalogUnavailable,
                message: reason + "; nothing was stored, try again once the catalog is back"
            )
        case .notReady, .vanished:
            throw ControlAPIError(status: .internalServerError, error: "ingest_failed", detail: "\(outcome)")
        }
    }
}
