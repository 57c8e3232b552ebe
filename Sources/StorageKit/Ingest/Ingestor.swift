import Foundation
import Logging

/// Takes one complete candidate from the drop (or a staged upload) through validation, hashing, probing and
/// placement, keeping the crash-safety journal (`pending_moves`) so that a SIGKILL at any instant leaves the
/// file in the drop, in `uploads/` with a record, or in `rejected/`.
///
/// Blocking: call it from a thread pool, never from Swift's cooperative pool.
public final class Ingestor: Sendable {
    public let layout: StorageLayout
    public let catalog: Catalog
    public let rejected: RejectedStore
    let logger: Logger
    /// Told how long each file's single read-and-hash pass took and how many bytes it read (metrics).
    let hashObserver: @Sendable (Duration, Int64) -> Void
    /// Seams where tests force the interleavings an attacker or a crash would (nothing in production).
    let hooks: IngestHooks

    public convenience init(
        layout: StorageLayout,
        catalog: Catalog,
        logger: Logger,
        hashObserver: @escaping @Sendable (Duration, Int64) -> Void = { _, _ in }
    ) {
        self.init(layout: layout, catalog: catalog, logger: logger, hashObserver: hashObserver, hooks: IngestHooks())
    }

    init(
        layout: StorageLayout,
        catalog: Catalog,
        logger: Logger,
        hashObserver: @escaping @Sendable (Duration, Int64) -> Void = { _, _ in },
        hooks: IngestHooks
    ) {
        self.layout = layout
        self.catalog = catalog
        self.rejected = RejectedStore(layout: layout)
        self.logger = logger
        self.hashObserver = hashObserver
        self.hooks = hooks
    }

    /// Hashes `fd` in one pass (copying to `output` when given) with a buffer sized for the file, and reports
    /// the time taken.
    private func hashOnce(fd: Int32, size: Int64, copyTo output: Int32? = nil) throws -> StreamingHasher.Digest {
        let start = ContinuousClock.now
        let bufferSize = Int(min(Int64(1 << 20), max(Int64(64 << 10), size)))
        let digest = try StreamingHasher(bufferSize: bufferSize).hash(fd: fd, copyTo: output)
        hashObserver(ContinuousClock.now - start, digest.bytes)
        return digest
    }

    /// The journal stages of a pending move.
    enum Stage {
        /// Renamed into staging (same filesystem); rolled back to the drop after a crash.
        static let staged = "staged"
        /// Being copied into staging from another filesystem; the source in the drop is authoritative.
        static let copying = "copying"
        /// Record inserted, being renamed into `uploads/`.
        static let placing = "placing"
        /// Copied from another filesystem, placed; the source in the drop is yet to be removed.
        static let placedCopy = "placed-copy"
        /// An HTTP upload in staging: nothing to return it to.
        static let upload = "upload"
    }

    // MARK: - Dropped files

    /// Ingests the file at `source` for `project` (`nil`: the drop folder's name sanitized to nothing, so the
    /// file is rejected as `invalid_project` under `DEFAULT_PROJECT`).
    public func ingestDropped(source: RawPath, project: ProjectID?, config: IngestConfiguration) -> IngestOutcome {
        let assetID = UUID().uuidString.lowercased()
        do {
            return try ingestDroppedThrowing(source: source, project: project, assetID: assetID, config: config)
        } catch {
            logger.error("ingest failed", metadata: ["filename": "\(source)", "error": "\(error)"])
            if let finished = rollBack(assetID: assetID) { return .stored(finished) }
            let shown = Self.displayName(of: source, project: project, dropPath: config.dropPath)
            return .failed(UserWording.failure(error, file: shown))
        }
    }

    private func ingestDroppedThrowing(
        source: RawPath,
        project: ProjectID?,
        assetID: String,
        config: IngestConfiguration
    ) throws -> IngestOutcome {
        let name = source.lastComponent
        let nameText = String(decoding: name, as: UTF8.self)
        let defaultProject = ProjectID(exactly: config.defaultProject) ?? ProjectID(sanitizing: "default")!
        // Every drop-side syscall names the file through its folder held open (scenario 4 of issue 10).
        let anchor: DropAnchor?
        do {
            anchor = try DropAnchor.open(source, root: RawPath(StorageLayout.normalize(config.dropPath)))
        } catch let failure as DropAnchor.Failure {
            logger.notice(
                "a folder of the drop changed under a noticed file",
                metadata: ["filename": "\(source)", "detail": "\(failure)"]
            )
            return .vanished
        }
        defer { withExtendedLifetime(anchor) {} }
        let at = anchor?.path ?? source
        guard let st = try FileOps.lstat(at) else { return .vanished }

        func reject(_ reason: RejectionReason, _ detail: String, in p: ProjectID? = nil) throws -> IngestOutcome {
            let target = p ?? project ?? defaultProject
            let r = Rejection(reason: reason, detail: detail, originalFilename: nameText)
            let storedAs = try rejected.reject(path: at, as: nameText, project: target, rejection: r)
            return storedAs == nil ? .vanished : .rejected(r, project: target, storedAs: storedAs)
        }

        guard let project else {
            return try reject(
                .invalidProject,
                "the drop folder's name has no character from A-Z a-z 0-9 _ - and cannot name a project",
                in: defaultProject
            )
        }
        switch st.kind {
        case .directory: return .vanished
        case .symlink: return try reject(.symlink, "symbolic links are never followed; drop the file itself")
        case .fifo, .socket, .device, .other:
            return try reject(.specialFile, "only regular files are ingested; this is a \(st.kind)")
        case .regular: break
        }
        if st.linkCount > 1 {
            return try reject(
                .hardLinks,
                "the file has \(st.linkCount) hard links; moving it would leave another name sharing the stored bytes"
            )
        }
        let ext = StoredName.lowercasedExtension(name)
        guard config.allows(extension: ext) else {
            return try reject(
                .extensionNotAllowed,
                "extension \(ext.isEmpty ? "(none)" : "." + ext) is not allowed; allowed: \(config.allowedExtensions.joined(separator: ", "))"
            )
        }
        if st.size == 0 { return try reject(.empty, "the file is empty") }
        if st.size > config.uploadMaxSize {
            return try reject(.tooLarge, "the file has \(st.size) bytes; UPLOAD_MAX_SIZE is \(config.uploadMaxSize)")
        }
        if config.projectQuotaBytes > 0 {
            let used = try catalog.uploadBytes(project: project)
            if used + st.size > config.projectQuotaBytes {
                return try reject(
                    .quotaExceeded,
                    "project \(project) holds \(used) bytes; this file's \(st.size) bytes would pass PROJECT_QUOTA_BYTES=\(config.projectQuotaBytes)"
                )
            }
        }

        let fd = try FileOps.openForReading(at)
        defer { close(fd) }
        let before = try FileOps.fstat(fd, path: source)
        guard before.kind == .regular, before.device == st.device, before.inode == st.inode else {
            return .notReady("replaced between lstat and open")
        }

        hooks.afterOpen(source)
        let staging = layout.stagingPath + "/" + assetID + "." + ext
        var move = try catalog.addPendingMove(
            PendingMove(
                id: 0,
                assetID: assetID,
                projectID: project.rawValue,
                sourcePath: PathCoding.encode(source),
                stagingPath: staging,
                targetRelativePath: nil,
                stage: Stage.staged,
                createdAt: ISO8601Millis.now()
            )
        )

        let digest: StreamingHasher.Digest
        var copied = false
        // rename(2) changes ctime, so the reference for "unchanged while read" is taken after the move.
        var reference = before
        switch try FileOps.renameNoReplace(at, staging) {
        case .renamed:
            reference = try FileOps.fstat(fd, path: staging)
            // The name may have been swapped between open and rename (a FIFO, a symlink, a second hard link):
            // only the object held open, with one link, may stay in staging.
            guard let staged = try FileOps.lstat(staging), staged.kind == .regular,
                staged.device == reference.device, staged.inode == reference.inode, staged.linkCount == 1
            else {
                try undoStaging(move: move, copied: false, source: at)
                return .notReady("the file was replaced while it was being taken")
            }
            guard reference.size == before.size, reference.mtimeNanos == before.mtimeNanos else {
                try undoStaging(move: move, copied: false, source: at)
                return .notReady("the file changed while it was being taken")
            }
            digest = try hashOnce(fd: fd, size: before.size)
        case .sourceMissing:
            try catalog.removePendingMove(id: move.id)
            return .vanished
        case .targetExists:
            try catalog.removePendingMove(id: move.id)
            logger.error("staging name exists", metadata: ["filename": "\(staging)"])
            let shown = Self.displayName(of: source, project: project, dropPath: config.dropPath)
            return .failed("\(shown) could not be ingested: its staging name was taken (see the log)")
        case .crossDevice:
            // Drop and storage on different filesystems: copy while hashing (one read), fsync, and remove the
            // source only once the copy is placed.
            move.stage = Stage.copying
            try catalog.updatePendingMove(move)
            let out = try FileOps.createExclusive(staging)
            do {
                digest = try hashOnce(fd: fd, size: before.size, copyTo: out)
                guard fsync(out) == 0 else { throw StorageError.syscall("fsync", path: staging, errno: errno) }
                close(out)
            } catch {
                close(out)
                unlink(staging)
                try? catalog.removePendingMove(id: move.id)
                throw error
            }
            copied = true
        }

        let after = try FileOps.fstat(fd, path: staging)
        guard after.isUnchanged(comparedTo: reference), digest.bytes == after.size else {
            // A writer was still at work: the file goes back to settle. Nothing is lost.
            try undoStaging(move: move, copied: copied, source: at)
            return .notReady("the file changed while it was being read")
        }
        try hooks.afterStaging(staging)
        return try finish(
            staged: staging,
            fd: fd,
            originalFilename: nameText,
            project: project,
            size: digest.bytes,
            checksum: digest.hex,
            move: move,
            copiedFrom: copied ? CopiedSource(path: at, identity: before) : nil,
            config: config,
            displayName: Self.displayName(of: source, project: project, dropPath: config.dropPath)
        )
    }

    /// Thrown inside the record's write transaction when an asset with the same checksum is already there.
    struct DuplicateFound: Error {
        let asset: Asset
    }

    /// The drop file a cross-filesystem ingest copied: removed once the copy is placed or rejected, and only
    /// while its name still holds the file that was copied.
    struct CopiedSource {
        let path: RawPath
        let identity: FileStatus
    }

    /// Removes the copied source if its name still holds that file; a file renamed onto the name meanwhile
    /// stays (it is a new candidate).
    private func removeCopiedSource(_ source: CopiedSource?) throws {
        guard let source else { return }
        hooks.beforeSourceRemoval(source.path)
        if case .kept(let at) = try FileOps.removeIfSame(source.path, identity: source.identity) {
            logger.notice(
                "a new file took the name of a copied file before it was removed; it stays",
                metadata: ["filename": "\(at)"]
            )
        }
    }

    /// Ingests a file an HTTP client uploaded into staging (already hashed while it streamed in).
    public func ingestUpload(
        staged: String,
        originalFilename: String,
        project: ProjectID,
        size: Int64,
        checksum: String,
        config: IngestConfiguration
    ) -> IngestOutcome {
        let assetID = UUID().uuidString.lowercased()
        do {
            let move = try catalog.addPendingMove(
                PendingMove(
                    id: 0,
                    assetID: assetID,
                    projectID: project.rawValue,
                    sourcePath: "",
                    stagingPath: staged,
                    targetRelativePath: nil,
                    stage: Stage.upload,
                    createdAt: ISO8601Millis.now()
                )
            )
            if size == 0 {
                return try rejectStaged(staged, .empty, "the upload is empty", originalFilename, project, move)
            }
            if config.projectQuotaBytes > 0 {
                let used = try catalog.uploadBytes(project: project)
                if used + size > config.projectQuotaBytes {
                    return try rejectStaged(
                        staged,
                        .quotaExceeded,
                        "project \(project) holds \(used) bytes; this file's \(size) bytes would pass PROJECT_QUOTA_BYTES=\(config.projectQuotaBytes)",
                        originalFilename,
                        project,
                        move
                    )
                }
            }
            let fd = try FileOps.openForReading(staged)
            defer { close(fd) }
            return try finish(
                staged: staged,
                fd: fd,
                originalFilename: originalFilename,
                project: project,
                size: size,
                checksum: checksum,
                move: move,
                copiedFrom: nil,
                config: config,
                displayName: originalFilename
            )
        } catch {
            logger.error("upload ingest failed", metadata: ["filename": "\(originalFilename)", "error": "\(error)"])
            if let finished = rollBack(assetID: assetID) { return .stored(finished) }
            return .failed(UserWording.failure(error, file: originalFilename))
        }
    }

    // MARK: - Shared tail: validate content, name, record, place

    private func finish(
        staged: String,
        fd: Int32,
        originalFilename: String,
        project: ProjectID,
        size: Int64,
        checksum: String,
        move: PendingMove,
        copiedFrom source: CopiedSource?,
        config: IngestConfiguration,
        displayName: String
    ) throws -> IngestOutcome {
        let ext = StoredName.lowercasedExtension(Array(originalFilename.utf8))
        func reject(_ reason: RejectionReason, _ detail: String) throws -> IngestOutcome {
            let outcome = try rejectStaged(staged, reason, detail, originalFilename, project, move)
            try removeCopiedSource(source)
            return outcome
        }

        switch ContainerCheck.check(fd: fd, size: size, ext: ext) {
        case .ok: break
        case .truncated(let detail): return try reject(.truncated, detail)
        case .notMedia(let detail): return try reject(.notMedia, detail)
        }
        let probe: ProbeResult
        do {
            probe = try MediaProbe.probe(path: staged, displayName: displayName)
        } catch {
            switch error.kind {
            case .noVideo: return try reject(.noVideo, error.detail)
            case .truncated: return try reject(.truncated, error.detail)
            default: return try reject(.notMedia, error.detail)
            }
        }
        guard probe.hasVideo else { return try reject(.noVideo, "the container holds no video stream") }
        guard MediaProbe.formatMatchesExtension(formatName: probe.formatName, ext: ext) else {
            return try reject(.notMedia, "the content is \(probe.formatName), not what .\(ext) promises")
        }
        if config.duplicates == .reject, let existing = try catalog.existing(project: project, checksum: checksum) {
            return try reject(
                .duplicate,
                "same SHA-256 as asset \(existing.id) (\(existing.filename)) in project \(project)"
            )
        }

        let folder = layout.projectPath(.uploads, project)
        try FileOps.makeDirectories(folder)
        let now = ISO8601Millis.now()
        var name = StoredName(
            project: project,
            originalFilename: originalFilename,
            timestamp: Int64(now.timeIntervalSince1970 * 1000)
        )
        var asset = Asset(
            id: move.assetID,
            projectID: project.rawValue,
            filename: "",
            originalFilename: originalFilename,
            relativePath: "",
            checksum: checksum,
            sizeBytes: size,
            mimeType: MediaProbe.mimeType(forExtension: ext) ?? "application/octet-stream",
            status: .processing,
            metadata: probe.metadata,
            createdAt: now,
            updatedAt: now
        )
        var placingMove = move
        placingMove.stage = source == nil ? Stage.placing : Stage.placedCopy
        var inserted = false
        for _ in 0..<10_000 {
            let relative = try layout.relativePath(.uploads, project, name.filename)
            if try FileOps.lstat(try layout.absolute(relative)) != nil {
                name = name.next(project: project, originalFilename: Array(originalFilename.utf8))
                continue
            }
            asset.filename = name.filename
            asset.relativePath = relative
            placingMove.targetRelativePath = relative
            hooks.beforeRecord(checksum)
            do {
                try catalog.write { tx in
                    if inserted {
                        try tx.update(asset)
                    } else {
                        // The catalog decides, for every node at once: the duplicate and quota checks above were
                        // early answers; these, under the project's lock, are the ones that count.
                        try tx.lockProject(project)
                        try Self.admit(asset, to: project, tx, config: config)
                        try tx.insert(asset)
                    }
                    try tx.updatePendingMove(placingMove)
                }
                inserted = true
            } catch let refusal as AdmissionRefusal {
                return try reject(refusal.reason, refusal.detail)
            } catch let error as StorageError where error.code == .conflict {
                name = name.next(project: project, originalFilename: Array(originalFilename.utf8))
                continue
            }
            switch try FileOps.renameNoReplace(staged, try layout.absolute(relative)) {
            case .renamed:
                FileOps.syncDirectory(folder)
                try removeCopiedSource(source)
                asset.status = .ready
                asset.updatedAt = ISO8601Millis.now()
                try catalog.write { tx in
                    try tx.update(asset)
                    try tx.removePendingMove(id: move.id)
                    _ = try tx.appendEvent(.ingested(asset))
                }
                return .stored(asset)
            case .targetExists:
                name = name.next(project: project, originalFilename: Array(originalFilename.utf8))
                continue
            case .sourceMissing, .crossDevice:
                throw StorageError(code: .io, message: "staged file \(staged) could not be placed at \(relative)")
            }
        }
        throw StorageError(code: .conflict, message: "no free stored name for \(originalFilename) in \(folder)")
    }

    /// A file the catalog refuses at insert time.
    struct AdmissionRefusal: Error {
        let reason: RejectionReason
        let detail: String
    }

    /// The duplicate rule and the quota, checked inside the inserting transaction.
    static func admit(
        _ asset: Asset,
        to project: ProjectID,
        _ tx: CatalogTransaction,
        config: IngestConfiguration
    ) throws {
        if config.duplicates == .reject, let existing = try tx.existing(project: project, checksum: asset.checksum) {
            throw AdmissionRefusal(
                reason: .duplicate,
                detail: "same SHA-256 as asset \(existing.id) (\(existing.filename)) in project \(project)"
            )
        }
        if config.projectQuotaBytes > 0 {
            let used = try tx.uploadBytes(project: project)
            let (total, overflow) = used.addingReportingOverflow(asset.sizeBytes)
            if overflow || total > config.projectQuotaBytes {
                throw AdmissionRefusal(
                    reason: .quotaExceeded,
                    detail:
                        "project \(project) holds \(used) bytes; this file's \(asset.sizeBytes) bytes would pass PROJECT_QUOTA_BYTES=\(config.projectQuotaBytes)"
                )
            }
        }
    }

    private func rejectStaged(
        _ staged: String,
        _ reason: RejectionReason,
        _ detail: String,
        _ originalFilename: String,
        _ project: ProjectID,
        _ move: PendingMove
    ) throws -> IngestOutcome {
        let r = Rejection(reason: reason, detail: detail, originalFilename: originalFilename)
        let storedAs = try rejected.reject(path: staged, as: originalFilename, project: project, rejection: r)
        try catalog.removePendingMove(id: move.id)
        return .rejected(r, project: project, storedAs: storedAs)
    }
}
