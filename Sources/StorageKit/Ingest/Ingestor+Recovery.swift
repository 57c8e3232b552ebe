import Foundation
import Synchronization
import SystemPackage

/// What start-up recovery did.
public struct RecoverySummary: Sendable, Equatable {
    /// Moves rolled back: the file is in the drop again (or its copy was dropped and the source kept).
    public var returnedToDrop = 0
    /// Placements finished: the file was already in `uploads/`, its record is now `ready`.
    public var finished: [Asset] = []
    /// Records removed because their file never reached `uploads/`.
    public var recordsRemoved = 0
    /// Unacknowledged HTTP uploads removed from staging.
    public var abandonedUploads = 0
    /// Temporary files of interrupted atomic writes removed.
    public var temporaryFilesRemoved = 0
    /// Files that could not be put where the rules say and were kept in `.staging/quarantine/` instead, with
    /// why (the daemon carries on; `/health` names them).
    public var quarantined: [String] = []
    /// `processing` records that could not be checked or updated (project/name as the user named the file);
    /// they stay for the next start.
    public var unrecoveredRecords: [String] = []
    /// Files another node was copying in from its own drop, left for that node's start-up by a take-over.
    public var leftForTheirNode = 0
    /// Project purges a crash had cut short, finished (``ProjectPurge/finishPending(layout:catalog:logger:)``).
    public var purgesFinished: [PurgeSummary] = []

    /// Nothing recovered (yet).
    public init() {}
}

extension Ingestor {
    /// Finishes or rolls back whatever a crash interrupted, from the journals (`pending_moves`,
    /// `pending_purges`) and the `processing` records. Runs at start-up, before the first scan. One entry that
    /// cannot be recovered never stops the others: its file is kept in the quarantine and named in the summary.
    ///
    /// - Parameter dropRoot: where a staged file without any journal entry is returned (none when nil: it is
    ///   quarantined).
    ///
    /// Only what is this node's own: its journal entries, its folder in `.staging` and its partial files in
    /// `processed/`. (With SQLite, one node holds the whole storage: every entry and folder is its own, also
    /// those of an earlier `NODE_ID` and the files an earlier version left in the `.staging` root.) Call it
    /// holding this node's ``StorageLock``. Another node's work is taken over by ``takeOver(node:dropRoot:)``.
    public func recover(dropRoot: RawPath? = nil) throws -> RecoverySummary {
        var summary = RecoverySummary()
        let shared = catalog.isShared
        // Listed before the journal is read: a file another node stages after this look has no entry here.
        let stagingFolders = shared ? [stagingFolder] : Self.nodeFolders(in: layout) + [layout.stagingPath]
        let legacy = shared ? Self.listing(layout.stagingPath) : []
        var journalled = Set<String>()
        for move in try catalog.pendingMoves() {
            journalled.insert(move.stagingPath)
            do {
                try recoverMove(move, into: &summary)
            } catch {
                quarantine(move, because: error, into: &summary)
            }
        }

        // `processing` records whose journal entry is gone: finish if the file is in place, else remove.
        // One record that cannot be checked or written (EACCES, a full disk) is left for the next start and
        // named in the summary; it never stops the others or the start-up.
        // Another node's record with its journal entry is that node's file in flight (or its take-over's).
        let inFlight = shared ? Set(try catalog.allPendingMoves().map(\.assetID)) : []
        for var asset in try catalog.assets(status: .processing) where !inFlight.contains(asset.id) {
            do {
                if try FileOps.lstat(try layout.absolute(asset.relativePath)) != nil {
                    try markReady(&asset)
                    summary.finished.append(asset)
                } else {
                    _ = try catalog.delete(id: asset.id)
                    summary.recordsRemoved += 1
                }
            } catch {
                logger.error(
                    "a processing record could not be recovered; it is left for the next start",
                    metadata: ["asset.id": "\(asset.id)", "filename": "\(asset.relativePath)", "error": "\(error)"]
                )
                summary.unrecoveredRecords.append("\(asset.projectID)/\(asset.originalFilename)")
            }
        }

        // Purges cut short: the records are gone, so the files go too (those of records ingested since, settled
        // above, stay).
        summary.purgesFinished = try ProjectPurge.finishPending(layout: layout, catalog: catalog, logger: logger)

        // Temporary files of thumbnails written beside their target by older versions (thumbnails/ only ever
        // holds files the daemon made; nothing in rejected/ is ever removed).
        let thumbnails = layout.categoryPath(.thumbnails)
        for folder in (try? FileManager.default.contentsOfDirectory(atPath: thumbnails)) ?? [] {
            summary.temporaryFilesRemoved += FileOps.removeTemporaryFiles(in: thumbnails + "/" + folder)
        }
        for folder in stagingFolders {
            sweepStaging(folder, journalled: journalled, dropRoot: dropRoot, into: &summary)
        }
        if shared {
            // What an earlier version left in the `.staging` root: taken only when no node's journal names it,
            // and an upload or temporary file only once nobody wrote it for a while (a node of that version may
            // still be writing it).
            let named = Set(try catalog.allPendingMoves().map(\.stagingPath))
            sweepStaging(
                layout.stagingPath,
                only: legacy,
                journalled: named,
                untouchedFor: ProcessedStore.leftoverAge,
                dropRoot: dropRoot,
                into: &summary
            )
        }
        summary.temporaryFilesRemoved += ProcessedStore(layout: layout).removeLeftovers(
            ofNode: shared ? catalog.nodeID : nil
        )
        return summary
    }

    /// After a failure: puts the file of `assetID`'s journal entry back where it belongs at once (the drop,
    /// or its place in `uploads/` when the rename had happened), as start-up recovery would. Returns the asset
    /// when the entry was finished instead (its `ready` record was committed, or only that was missing).
    ///
    /// When the catalog itself is what failed (a lost PostgreSQL server), the journal says where the file is:
    /// this waits for the catalog to answer again, however long that takes, and then settles the entry — so a
    /// file is never left in `.staging/` while the daemon runs. A stop meanwhile (the catalog closed) leaves
    /// the entry to the next start's recovery.
    func rollBack(assetID: String) -> Asset? {
        // Without a journal entry the file never left the drop (or an upload's staging): nothing to wait for.
        let mayHaveEntry = journalled.withLock { $0.contains(assetID) }
        while true {
            do {
                guard let move = try catalog.pendingMoves().first(where: { $0.assetID == assetID }) else { return nil }
                var summary = RecoverySummary()
                do {
                    try recoverMove(move, into: &summary)
                } catch let error as StorageError where error.code == .catalogUnavailable {
                    throw error
                } catch {
                    quarantine(move, because: error, into: &summary)
                }
                return summary.finished.first
            } catch let error as StorageError
                where error.code == .catalogUnavailable && mayHaveEntry && !catalog.isClosed
            {
                Self.waitForCatalog()
            } catch {
                logger.error(
                    "an interrupted move is left for the next start's recovery",
                    metadata: ["asset.id": "\(assetID)", "error": "\(error)"]
                )
                return nil
            }
        }
    }

    /// Writes `move` to the journal and remembers that this ingest has an entry.
    func journal(_ move: PendingMove) throws -> PendingMove {
        let written = try catalog.addPendingMove(move)
        journalled.withLock { _ = $0.insert(move.assetID) }
        return written
    }

    /// Forgets the ingest of `assetID` once it has ended, whatever its outcome.
    func forget(_ assetID: String) {
        journalled.withLock { _ = $0.remove(assetID) }
    }

    /// The pause between two looks at a lost catalog.
    static func waitForCatalog() { Thread.sleep(forTimeInterval: 1) }

    /// Returns a staged file to its place in the drop, `source` (named through its anchored folder), or drops
    /// the copy when the source is still there.
    func undoStaging(move: PendingMove, copied: Bool, source: RawPath) throws {
        if copied {
            unlink(move.stagingPath)
        } else {
            try returnToDrop(staging: move.stagingPath, source: source)
        }
        try catalog.removePendingMove(id: move.id)
    }

    /// Renames a staged file back to its drop path, or to `<stem>-<n><ext>` beside it when that name was taken.
    /// The folder is re-created from the journal's raw bytes (a name that is not UTF-8 stays itself).
    func returnToDrop(staging: String, source: RawPath) throws {
        guard source.bytes.first == 0x2F else {
            throw StorageError(code: .io, message: "no drop path to return \(staging) to")
        }
        try FileOps.makeDirectories(source.parent)
        do {
            try FileOps.renameBeside(staging, to: source)
        } catch let error as StorageError where error.errno == EXDEV {
            // A drop on another filesystem whose source is already gone (a reject interrupted after removing
            // it): the copy goes back the way it came, copied and synced before the staged one goes.
            for name in NumberedNames(source.lastComponent) {
                let candidate = source.parent.appending(name)
                if try FileOps.lstat(candidate) != nil { continue }
                _ = try FileOps.moveAcrossFilesystems(staging, to: candidate)
                return
            }
            throw error
        }
    }

    // MARK: - Uploads

    /// Finishes or rolls back one journal entry; throws when its file cannot be put where the rules say.
    ///
    /// - Parameter returnTo: where a staged drop goes back to instead of its own place in the drop (a take-over).
    func recoverMove(
        _ move: PendingMove,
        returningTo returnTo: RawPath? = nil,
        into summary: inout RecoverySummary
    )
        throws
    {
        let source = PathCoding.decode(move.sourcePath)
        let isUpload = move.sourcePath.isEmpty
        let stagingExists = try FileOps.lstat(move.stagingPath) != nil
        let targetPath = try move.targetRelativePath.map { try layout.absolute($0) }
        let targetExists = try targetPath.map { try FileOps.lstat($0) != nil } ?? false
        let asset = try catalog.asset(id: move.assetID)

        if stagingExists {
            if isUpload, move.stage == .placing, var asset, let targetPath {
                // Its record is committed and only the rename was missing: finish the placement.
                try FileOps.makeDirectories(FileOps.parent(targetPath))
                guard try FileOps.renameNoReplace(move.stagingPath, targetPath) == .renamed else {
                    throw StorageError(code: .conflict, message: "\(move.targetRelativePath ?? "") is taken")
                }
                FileOps.syncDirectory(FileOps.parent(targetPath))
                if asset.status == .processing { try markReady(&asset) }
                summary.finished.append(asset)
                try catalog.removePendingMove(id: move.id)
                return
            }
            switch (move.stage, isUpload) {
            case (.upload, _), (_, true):
                // Never acknowledged to the client (no 201): it retries; the partial state goes.
                unlink(move.stagingPath)
                summary.abandonedUploads += 1
            case (.copying, false), (.placedCopy, false):
                // The source in the drop is authoritative; the copy goes only while the source is there (or
                // was set aside to be removed: it goes back under its name).
                // (The aside is restored first, even when a new file took the name: it goes beside it.)
                let restored = try restoreAside(of: source, assetID: move.assetID)
                if try restored || FileOps.lstat(source) != nil {
                    unlink(move.stagingPath)
                } else {
                    try returnToDrop(staging: move.stagingPath, source: returnTo ?? source)
                }
                summary.returnedToDrop += 1
            case (.staged, false), (.placing, false):
                try returnToDrop(staging: move.stagingPath, source: returnTo ?? source)
                summary.returnedToDrop += 1
            }
            if asset != nil {
                _ = try catalog.delete(id: move.assetID)
                summary.recordsRemoved += 1
            }
        } else if targetExists, var asset {
            if move.stage == .placedCopy {
                // The aside first: removing the source would set it aside under the same name.
                try removeAsideIfCopied(of: source, asset: asset)
                try removeSourceIfCopied(source, of: asset)
            }
            if asset.status == .processing {
                try markReady(&asset)
            }
            summary.finished.append(asset)
        } else if let asset {
            _ = try catalog.delete(id: asset.id)
            summary.recordsRemoved += 1
        }
        try catalog.removePendingMove(id: move.id)
    }

    /// After a crash between placing a cross-filesystem copy and removing its source: the name in the drop
    /// is removed only if it still holds the same bytes (size and SHA-256) as the stored copy; anything else
    /// stays and is ingested again as a file of its own.
    private func removeSourceIfCopied(_ source: RawPath, of asset: Asset) throws {
        guard let identity = try identityIfHolding(asset, at: source) else { return }
        _ = try FileOps.removeIfSame(source, identity: identity, asideName: Self.asideName(asset.id))
    }

    /// After a crash while the copied source was set aside for its check: removed if it holds the stored
    /// bytes, otherwise put back under its name (beside it when the name was taken meanwhile).
    private func removeAsideIfCopied(of source: RawPath, asset: Asset) throws {
        let aside = source.parent.appending(Self.asideName(asset.id))
        guard try FileOps.lstat(aside) != nil else { return }
        if try identityIfHolding(asset, at: aside) != nil {
            if case .failure(let error) = Syscall.nothingOrErrno({ aside.withCString { unlink($0) } }),
                error != .noSuchFileOrDirectory
            {
                throw StorageError.syscall("unlink", path: aside.description, error)
            }
        } else {
            try FileOps.renameBeside(aside, to: source)
        }
    }

    /// Puts a source that was set aside for removal back under its name; `true` when there was one.
    private func restoreAside(of source: RawPath, assetID: String) throws -> Bool {
        let aside = source.parent.appending(Self.asideName(assetID))
        guard try FileOps.lstat(aside) != nil else { return false }
        return try FileOps.renameBeside(aside, to: source) != nil
    }

    /// The identity of the regular file at `path` when it holds exactly `asset`'s bytes (size and SHA-256).
    private func identityIfHolding(_ asset: Asset, at path: RawPath) throws -> FileStatus? {
        guard let st = try FileOps.lstat(path), st.kind == .regular, st.linkCount == 1, st.size == asset.sizeBytes
        else { return nil }
        let fd = try FileOps.openForReading(path)
        defer { close(fd) }
        let identity = try FileOps.fstat(fd, path: path)
        guard identity.device == st.device, identity.inode == st.inode else { return nil }
        let digest = try StreamingHasher(bufferSize: 1 << 20).hash(fd: fd, copyTo: nil)
        return digest.hex == asset.checksum ? identity : nil
    }

    /// Keeps the staged file of `move` in `.staging/quarantine/<asset id>/<name>` when it could not be put
    /// back, and drops the entry so start-up carries on; the file is named in the log and in `/health`.
    func quarantine(_ move: PendingMove, because error: any Error, into summary: inout RecoverySummary) {
        let source = PathCoding.decode(move.sourcePath)
        let asset = try? catalog.asset(id: move.assetID)
        var name = move.sourcePath.isEmpty ? Array((asset?.originalFilename ?? "").utf8) : source.lastComponent
        if name.isEmpty || name.first == 0x2E { name = Array(FileOps.lastComponent(move.stagingPath).utf8) }
        let shown =
            move.sourcePath.isEmpty
            ? "upload \(asset?.originalFilename ?? FileOps.lastComponent(move.stagingPath)) to project \(move.projectID)"
            : "\(source)"
        let folder = RawPath(Quarantine.path(layout) + "/" + move.assetID)
        var keptAt: RawPath?
        if (try? FileOps.lstat(move.stagingPath)) ?? nil != nil {
            keptAt = (try? FileOps.makeDirectories(folder)).flatMap { _ in
                (try? FileOps.renameBeside(move.stagingPath, to: folder.appending(name))) ?? nil
            }
        }
        // A record whose file is not in `uploads/` cannot stay `processing`.
        if let asset, asset.status == .processing,
            let target = try? layout.absolute(asset.relativePath), (try? FileOps.lstat(target)) ?? nil == nil
        {
            _ = try? catalog.delete(id: asset.id)
        }
        if keptAt != nil || (try? FileOps.lstat(move.stagingPath)) ?? nil == nil {
            try? catalog.removePendingMove(id: move.id)
        }
        let note = "\(shown): \(error)"
        summary.quarantined.append(note)
        logger.error(
            "could not finish or roll back an interrupted move; the file is kept in the quarantine",
            metadata: [
                "project.id": "\(move.projectID)", "filename": "\(shown)", "error": "\(error)",
                "kept_at": "\(keptAt?.description ?? move.stagingPath)",
            ]
        )
    }

    /// Finishes a placement: `ready`, with its `ingested` event and its thumbnail job in the same transaction.
    private func markReady(_ asset: inout Asset) throws {
        asset.status = .ready
        asset.updatedAt = ISO8601Millis.now()
        let ready = asset
        try catalog.write { tx in
            try tx.update(ready)
            _ = try tx.appendEvent(.ingested(ready))
            try tx.enqueueJob(.thumbnail, assetID: ready.id, params: "")
        }
    }
}
