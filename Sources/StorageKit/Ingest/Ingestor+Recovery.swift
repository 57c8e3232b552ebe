import Foundation

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
}

extension Ingestor {
    /// Finishes or rolls back whatever a crash interrupted, from the journal (`pending_moves`) and the
    /// `processing` records. Runs at start-up, before the first scan.
    public func recover() throws -> RecoverySummary {
        var summary = RecoverySummary()
        var journalled = Set<String>()
        for move in try catalog.pendingMoves() {
            journalled.insert(move.stagingPath)
            let source = PathCoding.decode(move.sourcePath)
            let stagingExists = try FileOps.lstat(move.stagingPath) != nil
            let targetPath = try move.targetRelativePath.map { try layout.absolute($0) }
            let targetExists = try targetPath.map { try FileOps.lstat($0) != nil } ?? false
            let asset = try catalog.asset(id: move.assetID)

            if stagingExists {
                switch move.stage {
                case Stage.upload:
                    // Never acknowledged to the client (no 201): it retries; the partial state goes.
                    unlink(move.stagingPath)
                    summary.abandonedUploads += 1
                case Stage.copying, Stage.placedCopy:
                    if try FileOps.lstat(source) != nil {
                        unlink(move.stagingPath)
                    } else {
                        try returnToDrop(staging: move.stagingPath, source: source)
                    }
                    summary.returnedToDrop += 1
                default:
                    try returnToDrop(staging: move.stagingPath, source: source)
                    summary.returnedToDrop += 1
                }
                if asset != nil {
                    _ = try catalog.delete(id: move.assetID)
                    summary.recordsRemoved += 1
                }
            } else if targetExists, var asset {
                if move.stage == Stage.placedCopy, try FileOps.lstat(source) != nil {
                    _ = source.withCString { unlink($0) }
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

        // `processing` records whose journal entry is gone: finish if the file is in place, else remove.
        for var asset in try catalog.assets(status: .processing) {
            if try FileOps.lstat(try layout.absolute(asset.relativePath)) != nil {
                try markReady(&asset)
                summary.finished.append(asset)
            } else {
                _ = try catalog.delete(id: asset.id)
                summary.recordsRemoved += 1
            }
        }

        // Temporary files of atomic writes (thumbnails, reason files) that a crash interrupted.
        for category in [StorageCategory.thumbnails, .rejected] {
            for folder in (try? FileManager.default.contentsOfDirectory(atPath: layout.categoryPath(category))) ?? [] {
                summary.temporaryFilesRemoved += FileOps.removeTemporaryFiles(in: layout.categoryPath(category) + "/" + folder)
            }
        }

        // Partial uploads that never got a journal entry (the daemon died while the body streamed in).
        if let names = try? FileManager.default.contentsOfDirectory(atPath: layout.stagingPath) {
            for name in names where name.hasPrefix(".upload-") {
                let path = layout.stagingPath + "/" + name
                if !journalled.contains(path) {
                    unlink(path)
                    summary.abandonedUploads += 1
                }
            }
        }
        return summary
    }

    /// Finishes a placement: `ready`, with its `ingested` event in the same transaction.
    private func markReady(_ asset: inout Asset) throws {
        asset.status = .ready
        asset.updatedAt = ISO8601Millis.now()
        let ready = asset
        try catalog.write { tx in
            try tx.update(ready)
            _ = try tx.appendEvent(.ingested(ready))
        }
    }
}
