import Foundation
import Logging

extension Ingestor {
    // MARK: - Shared tail: validate content, name, record, place

    /// `name`: the file's name as it came, in bytes (a dropped name need not be UTF-8; an upload's is its text):
    /// a rejected file keeps them; the record holds their text.
    func finish(
        staged: String,
        fd: Int32,
        name droppedName: [UInt8],
        project: ProjectID,
        size: Int64,
        checksum: String,
        move: PendingMove,
        copiedFrom source: CopiedSource?,
        policy: IngestPolicy,
        displayName: String
    ) throws -> IngestOutcome {
        let originalFilename = String(decoding: droppedName, as: UTF8.self)
        let ext = StoredName.lowercasedExtension(droppedName)
        func reject(_ reason: RejectionReason, _ detail: String) throws -> IngestOutcome {
            // A copy from another filesystem: the drop's file goes first, while the journal still holds the
            // copy; a crash in between returns the copy to the drop. (In the other order, a crash left one
            // copy in `rejected/` and the source in the drop, which was rejected again: two copies.) The copy's
            // name in staging is made durable before the only other copy goes.
            if source != nil { FileOps.syncDirectory(stagingFolder) }
            try removeCopiedSource(source)
            return try rejectStaged(staged, reason, detail, droppedName, project, move)
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
        placingMove.stage = source == nil ? .placing : .placedCopy
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
                // On disk before the rename into uploads/ that it describes.
                try catalog.write(durable: true) { tx in
                    if inserted {
                        try tx.update(asset)
                    } else {
                        // The catalog decides, for every node at once, under the project's lock: the duplicate rule
                        // (asked only here, in the transaction that inserts) and the quota (asked early above too).
                        try tx.lockProject(project)
                        try Self.admit(asset, to: project, tx, policy: policy)
                        try tx.insert(asset)
                    }
                    try tx.updatePendingMove(placingMove)
                }
                inserted = true
                hooks.afterRecord(asset)
            } catch let refusal as AdmissionRefusal {
                return try reject(refusal.reason, refusal.detail)
            } catch let error as StorageError where error.code == .conflict {
                name = name.next(project: project, originalFilename: Array(originalFilename.utf8))
                continue
            }
            let placed: FileOps.RenameResult
            do {
                placed = try FileOps.renameNoReplace(staged, try layout.absolute(relative))
            } catch let error as StorageError where error.errno == ENOENT {
                // The staged file is there but the folder went (a purge of the project ran meanwhile; this file
                // arrives after it): made again, and the rename tried again.
                try FileOps.makeDirectories(folder)
                continue
            }
            switch placed {
            case .renamed:
                DirectorySync.sync(folder)
                hooks.afterPlacement(asset)
                try removeCopiedSource(source)
                asset.status = .ready
                asset.updatedAt = ISO8601Millis.now()
                try catalog.write { tx in
                    try tx.update(asset)
                    try tx.removePendingMove(id: move.id)
                    _ = try tx.appendEvent(.ingested(asset))
                    try tx.enqueueJob(.thumbnail, assetID: asset.id, params: "")
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
        policy: IngestPolicy
    ) throws {
        if policy.duplicates == .reject, let existing = try tx.existing(project: project, checksum: asset.checksum) {
            throw AdmissionRefusal(
                reason: .duplicate,
                detail: "same SHA-256 as asset \(existing.id) (\(existing.filename)) in project \(project)"
            )
        }
        if policy.projectQuotaBytes > 0 {
            let used = try tx.uploadBytes(project: project)
            let (total, overflow) = used.addingReportingOverflow(asset.sizeBytes)
            if overflow || total > policy.projectQuotaBytes {
                throw AdmissionRefusal(
                    reason: .quotaExceeded,
                    detail:
                        "project \(project) holds \(used) bytes; this file's \(asset.sizeBytes) bytes would pass PROJECT_QUOTA_BYTES=\(policy.projectQuotaBytes)"
                )
            }
        }
    }

    /// Moves the staged file into `rejected/` under `name`, its bytes as it came (its text is the reason's
    /// `original_filename`).
    func rejectStaged(
        _ staged: String,
        _ reason: RejectionReason,
        _ detail: String,
        _ name: [UInt8],
        _ project: ProjectID,
        _ move: PendingMove
    ) throws -> IngestOutcome {
        let r = Rejection(reason: reason, detail: detail, originalFilename: String(decoding: name, as: UTF8.self))
        let storedAs = try rejected.reject(path: staged, as: name, project: project, rejection: r)
        try catalog.removePendingMove(id: move.id)
        return .rejected(r, project: project, storedAs: storedAs)
    }
}
