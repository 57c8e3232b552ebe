import Foundation
import IngestConfig
import Logging
import StorageKit

/// The shared, long-lived parts every service of the daemon uses.
final class DaemonContext: Sendable {
    let layout: StorageLayout
    let catalog: Catalog
    let config: ConfigStore
    let events: EventBus
    let metrics: DaemonMetrics
    let logger: Logger
    let ingestor: Ingestor
    let startedAt = ContinuousClock.now
    let dropRoot: RawPath
    /// Files ingested side by side: four per core (at least 8), since an ingest mostly waits for the disk to
    /// flush its journal entry, its record and its folder, and flushes asked for at once are made as one
    /// (``GroupFlush``): the more ingests wait together, the fewer flushes each costs.
    static let ingestWorkers = max(8, 4 * processors)

    /// The processors this process may use, read once: Foundation reads the cgroup's files on every ask.
    static let processors = ProcessInfo.processInfo.activeProcessorCount

    /// Where the services' blocking work runs (see ``BlockingThreads``).
    let blocking: BlockingThreads
    /// Keeps a second daemon off this storage (SQLite) or off this `NODE_ID` (PostgreSQL) while this one runs.
    let lock: StorageLock

    init(config: IngestConfiguration, logger: Logger) throws {
        layout = StorageLayout(root: config.storagePath)
        do {
            try layout.createCategoryFolders()
        } catch {
            throw StorageError(
                code: .io,
                message: "STORAGE_PATH=\(config.storagePath): cannot create the storage folders: \(error)"
            )
        }
        guard access(layout.root, W_OK) == 0 else {
            throw StorageError(
                code: .io,
                message: "STORAGE_PATH=\(config.storagePath): not writable by uid \(geteuid())"
            )
        }
        // Before recovery: what it finds in this node's staging is then this process's own.
        lock = try StorageLock.acquire(
            (try? CatalogURL.parse(config.catalogURL)) == .sqlite ? .storage : .node(config.nodeID),
            in: layout,
            holder: Self.lockNote(config)
        )
        if let reason = lock.unsupported {
            logger.warning(
                """
                the storage filesystem has no file locks (\(reason)): nothing keeps a second ingestd off \
                STORAGE_PATH=\(config.storagePath) with the same NODE_ID; make sure only one runs
                """,
                metadata: ["lock.file": "\(lock.path)"]
            )
        }
        // Made now: uploads measure the free space where they stream (MIN_FREE_BYTES) before writing a byte.
        try FileOps.makeDirectories(layout.nodeStagingPath(config.nodeID))
        let drop = StorageLayout.normalize(config.dropPath)
        // Overlapping folders (symlinks followed) were refused with the configuration (`ConfiguredPaths`).
        try FileOps.makeDirectories(drop)
        dropRoot = RawPath(drop)
        // Ingest workers may all be in a long ingest at once (or waiting for a lost catalog); thumbnail workers,
        // the control server's requests, the event follower and lease renewals each need a thread and a
        // connection for one call at a time besides.
        let poolSize = max(
            8,
            Self.ingestWorkers + Self.processors + config.ffmpegThreads + 2
        )
        catalog = try Catalog.open(
            url: config.catalogURL,
            layout: layout,
            nodeID: config.nodeID,
            poolSize: poolSize,
            logger: logger
        )
        blocking = BlockingThreads(count: poolSize)
        self.config = ConfigStore(config)
        self.logger = logger
        events = EventBus(catalog: catalog, blocking: blocking, logger: logger)
        let metrics = DaemonMetrics(node: config.nodeID)
        self.metrics = metrics
        ingestor = Ingestor(layout: layout, catalog: catalog, logger: logger) { elapsed, _ in
            metrics.hashDuration.record(elapsed)
        }
    }

    /// Who holds the lock, as a refused second start tells it.
    static func lockNote(_ config: IngestConfiguration) -> String {
        "held by ingestd pid \(getpid()) on host \(IngestConfiguration.hostName()), NODE_ID=\(config.nodeID), "
            + "CONTROL_SOCKET=\(config.controlSocketPath), since \(ISO8601Millis.string(from: ISO8601Millis.now()))"
    }

    /// Runs `body` with the catalog on the blocking threads; the caller is suspended, not blocked, meanwhile.
    func withCatalog<T: Sendable>(_ body: @escaping @Sendable (Catalog) throws -> T) async throws -> T {
        let catalog = self.catalog
        return try await blocking.run { try body(catalog) }
    }

    /// The project a dropped path belongs to (nil project: invalid folder name), or nil when outside the drop.
    func location(of path: RawPath) -> DropLocation? {
        let defaultProject = ProjectID(exactly: config.current.defaultProject) ?? ProjectID(sanitizing: "default")!
        return DropLocation(path: path, root: dropRoot, defaultProject: defaultProject)
    }

    /// Publishes the event and counts the metric for an outcome.
    func report(_ outcome: IngestOutcome, source: String) async {
        switch outcome {
        case .stored(let asset):
            metrics.countIngested(project: asset.projectID)
            metrics.bytesIngested.increment(by: asset.sizeBytes)
            logger.info(
                "ingested",
                metadata: [
                    "project.id": "\(asset.projectID)", "asset.id": "\(asset.id)", "filename": "\(asset.filename)",
                ]
            )
            // The `ingested` event was appended with the `ready` record.
            await events.catchUp()
        case .rejected(let rejection, let project, let storedAs):
            metrics.countRejected(reason: rejection.reason)
            logger.notice(
                "rejected",
                metadata: [
                    "project.id": "\(project)", "filename": "\(source)", "reason": "\(rejection.reason.rawValue)",
                    "detail": "\(rejection.detail)",
                ]
            )
            await events.publish(
                IngestEvent(
                    .rejected,
                    project: project.rawValue,
                    filename: storedAs ?? rejection.originalFilename,
                    reason: rejection.reason.rawValue,
                    detail: rejection.detail
                )
            )
        case .failed(let error):
            logger.error("ingest failed", metadata: ["filename": "\(source)", "error": "\(error)"])
        case .waitingForCatalog(let reason):
            // `/health` names the lost catalog once; a line per file and try would flood the log.
            logger.debug("file waits for the catalog", metadata: ["filename": "\(source)", "reason": "\(reason)"])
        case .notReady, .vanished:
            break
        }
    }
}
