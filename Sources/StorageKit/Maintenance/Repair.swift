import Foundation
import IngestConfig
import Logging

/// What `POST /repair` found and (unless a dry run) fixed.
public struct RepairSummary: Codable, Sendable, Equatable {
    public var dryRun: Bool
    public var recordsChecked = 0
    public var filesChecked = 0
    /// Files in `uploads/` that had no record: hashed, probed and recorded.
    public var recordsCreated = 0
    /// Records whose file is gone.
    public var recordsRemoved = 0
    /// Records whose file no longer matches (size differs): marked `failed`.
    public var recordsMarkedFailed = 0
    /// Assets whose thumbnail was given up (`failed`: the decoder failed, or the daemon died twice while making
    /// it), made `ready` again with their thumbnail queued with fresh attempts: repair is the operator's retry.
    public var failedThumbnailsRetried = 0
    /// Assets whose thumbnail is missing, queued again.
    public var thumbnailsQueued = 0
    /// Thumbnails that belonged to no record.
    public var orphanThumbnailsRemoved = 0
    /// Assets whose renditions (some or all) are missing or out of line with `RENDITIONS`, queued again.
    public var renditionsQueued = 0
    /// Assets whose sprite sheet is missing, queued again.
    public var spritesQueued = 0
    /// Folders and files in `processed/` that belonged to no record.
    public var orphanProcessedRemoved = 0
    /// Files in `uploads/` that could not be recorded (left untouched: repair never deletes media).
    public var unreadableFiles: [String] = []
    /// Ids of assets that need a thumbnail (for the caller's queue; not part of the JSON).
    public var thumbnailAssetIDs: [String] = []

    public init(dryRun: Bool) { self.dryRun = dryRun }

    /// `thumbnailAssetIDs` is not among them.
    enum CodingKeys: String, SnakeCaseCodingKey {
        case dryRun, recordsChecked, filesChecked, recordsCreated, recordsRemoved, recordsMarkedFailed
        case failedThumbnailsRetried, thumbnailsQueued, orphanThumbnailsRemoved
        case renditionsQueued, spritesQueued, orphanProcessedRemoved, unreadableFiles
    }
}

/// Checks the catalog against storage and rebuilds where they differ. Never deletes a media file.
public enum Repair {
    /// Runs the check; with `dryRun` only reports. Blocking: call it off the cooperative pool.
    ///
    /// With `config`, derived files are checked too: missing sprites and renditions are queued again as the
    /// configuration asks, and files in `processed/` that no record owns are removed. Nodes sharing a
    /// PostgreSQL catalog repair one at a time: a second node's repair throws `.conflict`.
    ///
    /// `afterSnapshot` is a seam after the first snapshot of the records, where a test lets an ingest land
    /// meanwhile.
    public static func run(
        layout: StorageLayout,
        catalog: Catalog,
        dryRun: Bool,
        logger: Logger,
        config: IngestConfiguration? = nil,
        afterSnapshot: () throws -> Void = {}
    ) throws -> RepairSummary {
        try catalog.exclusiveRepair {
            // Purges a crash cut short are finished first: their files are an operator's order, never assets to
            // record again. (A dry run changes nothing; it leaves those projects out, as the real run's check
            // will not find their files.)
            if !dryRun { try ProjectPurge.finishPending(layout: layout, catalog: catalog, logger: logger) }
            let records = try catalog.allAssets()
            try afterSnapshot()
            return try check(
                records,
                layout: layout,
                catalog: catalog,
                dryRun: dryRun,
                logger: logger,
                config: config
            )
        }
    }

    private static func check(
        _ records: [Asset],
        layout: StorageLayout,
        catalog: Catalog,
        dryRun: Bool,
        logger: Logger,
        config: IngestConfiguration?
    ) throws -> RepairSummary {
        var summary = RepairSummary(dryRun: dryRun)
        summary.recordsChecked = records.count
        var known = Set<String>()
        var knownThumbnails = Set<String>()
        /// Records removed because their file is gone: their thumbnails go with them.
        var removed = Set<String>()

        for var asset in records {
            known.insert(asset.relativePath)
            guard let st = try FileOps.lstat(try layout.absolute(asset.relativePath)) else {
                if asset.status != .processing, try dryRun || removeRecord(asset, from: catalog) {
                    summary.recordsRemoved += 1
                    removed.insert(asset.id)
                }
                continue
            }
            if asset.status == .failed, asset.thumbnailPath == nil, st.size == asset.sizeBytes,
                !(asset.error ?? "").hasPrefix(Self.errorPrefix)
            {
                if try retryThumbnail(of: asset, catalog: catalog, config: config, dryRun: dryRun) {
                    summary.failedThumbnailsRetried += 1
                    summary.thumbnailsQueued += 1
                    summary.thumbnailAssetIDs.append(asset.id)
                }
                continue
            }
            if st.size != asset.sizeBytes && asset.status != .failed {
                summary.recordsMarkedFailed += 1
                if !dryRun {
                    asset.status = .failed
                    asset.error =
                        Self.errorPrefix + "the stored file has \(st.size) bytes, the record says \(asset.sizeBytes)"
                    asset.updatedAt = ISO8601Millis.now()
                    try catalog.update(asset)
                }
                continue
            }
            if let thumb = asset.thumbnailPath {
                knownThumbnails.insert(thumb)
                if try FileOps.lstat(try layout.absolute(thumb)) == nil, asset.status == .ready {
                    summary.thumbnailsQueued += 1
                    summary.thumbnailAssetIDs.append(asset.id)
                    if !dryRun {
                        asset.thumbnailPath = nil
                        asset.updatedAt = ISO8601Millis.now()
                        let cleared = asset
                        try catalog.write { tx in
                            try tx.update(cleared)
                            try tx.enqueueJob(.thumbnail, assetID: cleared.id, params: "", onlyFailed: true)
                        }
                    }
                }
            } else if asset.status == .ready {
                summary.thumbnailsQueued += 1
                summary.thumbnailAssetIDs.append(asset.id)
                if !dryRun { try catalog.enqueueJob(.thumbnail, assetID: asset.id, params: "", onlyFailed: true) }
            }
        }

        // Files and thumbnails that the first snapshot knows nothing of. An ingest commits its record before its
        // file appears in `uploads/` (and a thumbnail's owner exists before the thumbnail), so a second snapshot,
        // taken after the walk, knows every owner of what the walk saw: only what it does not know is orphaned.
        // Projects whose purge is still pending (running, or left for later) are not looked at: their files are
        // going. Read after the records, before the walk: a purge whose entry is gone has removed its files.
        let purging = try ProjectPurge.pendingProjects(catalog)
        var unknownFiles: [(project: ProjectID, name: String, relative: String)] = []
        for (project, folder) in projectFolders(layout, .uploads) where !purging.contains(project.rawValue) {
            for name in regularFiles(in: folder) {
                summary.filesChecked += 1
                let relative = try layout.relativePath(.uploads, project, name)
                if !known.contains(relative) { unknownFiles.append((project, name, relative)) }
            }
        }
        var unknownThumbnails: [(folder: String, name: String, relative: String)] = []
        for (project, folder) in projectFolders(layout, .thumbnails) where !purging.contains(project.rawValue) {
            for name in regularFiles(in: folder) {
                unknownThumbnails.append((folder, name, try layout.relativePath(.thumbnails, project, name)))
            }
        }
        let latest = try catalog.allAssets()
        for asset in latest where !removed.contains(asset.id) {
            known.insert(asset.relativePath)
            if let thumb = asset.thumbnailPath { knownThumbnails.insert(thumb) }
        }

        let hasher = StreamingHasher()
        for (project, name, relative) in unknownFiles where !known.contains(relative) {
            do {
                let asset = try record(name: name, relative: relative, project: project, layout: layout, hasher: hasher)
                summary.recordsCreated += 1
                summary.thumbnailsQueued += 1
                summary.thumbnailAssetIDs.append(asset.id)
                if !dryRun {
                    try catalog.write { tx in
                        try tx.insert(asset)
                        try tx.enqueueJob(.thumbnail, assetID: asset.id, params: "")
                        _ = try tx.appendEvent(.ingested(asset))
                    }
                }
            } catch {
                summary.unreadableFiles.append(relative)
                logger.warning(
                    "repair: cannot record file",
                    metadata: ["filename": "\(relative)", "error": "\(error)"]
                )
            }
        }

        // A thumbnail belongs to a record if it is its `thumbnail_path` or the name one would get (being written).
        for asset in records + latest where !removed.contains(asset.id) {
            knownThumbnails.insert(
                "thumbnails/project_\(asset.projectID)/" + ThumbnailNaming.name(forStored: asset.filename)
            )
        }
        for (folder, name, relative) in unknownThumbnails where !knownThumbnails.contains(relative) {
            summary.orphanThumbnailsRemoved += 1
            if !dryRun { unlink(folder + "/" + name) }
        }
        if let config {
            try ProcessedRepair.run(
                layout: layout,
                catalog: catalog,
                config: config,
                dryRun: dryRun,
                removing: removed,
                skipping: purging,
                summary: &summary
            )
        }
        if dryRun { summary.thumbnailAssetIDs = [] }
        return summary
    }

    /// How the errors repair writes into records begin; a record failed by repair is not retried by it.
    static let errorPrefix = "repair: "

    /// Removes the record of a file that is gone, its jobs, and says so on the event stream, in one transaction;
    /// false when the record went meanwhile (an operator's delete, a purge: it announced that itself).
    private static func removeRecord(_ asset: Asset, from catalog: Catalog) throws -> Bool {
        try catalog.write { tx in
            try tx.cancelJobs(assetID: asset.id)
            guard try tx.delete(id: asset.id) != nil else { return false }
            _ = try tx.appendEvent(
                IngestEvent(.deleted, about: asset)
            )
            return true
        }
    }

    /// Makes `failed` asset `ready` with its thumbnail queued afresh, as an ingest admits a file: not when a
    /// record with the same content entered its project meanwhile (`DUPLICATES=reject`), nor when it would take
    /// the project past `PROJECT_QUOTA_BYTES` (a failed asset counts for neither). Returns whether it was (or, in
    /// a dry run, would be); false too when the record changed or went meanwhile.
    private static func retryThumbnail(
        of asset: Asset,
        catalog: Catalog,
        config: IngestConfiguration?,
        dryRun: Bool
    ) throws -> Bool {
        guard let project = ProjectID(exactly: asset.projectID) else { return false }
        let duplicates = config?.duplicates ?? .reject
        let quota = config?.projectQuotaBytes ?? 0
        let admit = { (tx: CatalogTransaction) throws -> Bool in
            try tx.lockProject(project)
            guard var current = try tx.asset(id: asset.id), current.status == .failed, current.thumbnailPath == nil
            else { return false }
            if duplicates == .reject, try tx.existing(project: project, checksum: current.checksum) != nil {
                return false
            }
            if quota > 0 {
                let (total, overflow) = try tx.uploadBytes(project: project).addingReportingOverflow(current.sizeBytes)
                if overflow || total > quota { return false }
            }
            guard !dryRun else { return true }
            // The job row before the record, in the order a delete takes them (no deadlock on PostgreSQL).
            try tx.enqueueJob(.thumbnail, assetID: current.id, params: "")
            current.status = .ready
            current.error = nil
            current.updatedAt = ISO8601Millis.now()
            try tx.update(current)
            return true
        }
        // A dry run looks inside a write transaction too (it changes nothing): the same locks, the same answer.
        return try catalog.write { try admit($0) }
    }

    /// Builds a `ready` record for a stored file that has none: hashed and probed like an ingested one.
    private static func record(
        name: String,
        relative: String,
        project: ProjectID,
        layout: StorageLayout,
        hasher: StreamingHasher
    ) throws -> Asset {
        let path = try layout.absolute(relative)
        let fd = try FileOps.openForReading(path)
        defer { close(fd) }
        let digest = try hasher.hash(fd: fd)
        let probe = try MediaProbe.probe(path: path)
        guard probe.hasVideo else { throw MediaError(.noVideo, "no video stream") }
        let ext = StoredName.lowercasedExtension(Array(name.utf8))
        let now = ISO8601Millis.now()
        return Asset(
            projectID: project.rawValue,
            filename: name,
            originalFilename: name,
            relativePath: relative,
            checksum: digest.hex,
            sizeBytes: digest.bytes,
            mimeType: MediaProbe.mimeType(forExtension: ext) ?? "application/octet-stream",
            status: .ready,
            metadata: probe.metadata,
            createdAt: now,
            updatedAt: now
        )
    }

    static func projectFolders(_ layout: StorageLayout, _ category: StorageCategory) -> [(ProjectID, String)] {
        let base = layout.categoryPath(category)
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: base) else { return [] }
        return names.sorted().compactMap { name in
            guard name.hasPrefix("project_"), let id = ProjectID(exactly: String(name.dropFirst(8))) else { return nil }
            return (id, base + "/" + name)
        }
    }

    static func regularFiles(in folder: String) -> [String] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return [] }
        return names.sorted().filter { name in
            guard !name.hasPrefix(FileOps.temporaryPrefix), let st = try? FileOps.lstat(folder + "/" + name) else {
                return false
            }
            return st.kind == .regular
        }
    }
}

/// The thumbnail of a stored file `<stem>-<hash10><ext>` is `<stem>-<hash10>.jpg`.
public enum ThumbnailNaming {
    public static func name(forStored storedName: String) -> String {
        let bytes = Array(storedName.utf8)
        // Without an extension the name ends in its hash; a dot before it belongs to the stem (`trailing.`).
        if endsInHash(bytes) { return storedName + ".jpg" }
        return String(decoding: StoredName.split(bytes).stem, as: UTF8.self) + ".jpg"
    }

    /// Whether `name` ends in `-` and ten lower-case hex digits, as a stored name without an extension does.
    private static func endsInHash(_ name: [UInt8]) -> Bool {
        guard name.count >= 11, name[name.count - 11] == UInt8(ascii: "-") else { return false }
        return name.suffix(10).allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }
}
