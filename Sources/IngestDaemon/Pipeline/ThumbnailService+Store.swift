import Foundation
import Logging
import StorageKit

/// What follows a render: the thumbnail stored and recorded, or the asset failed, or the job waiting for the
/// catalog.
extension ThumbnailService {
    /// Stores `made`, then lets its job go.
    func store(_ made: Made) async {
        await store(made.thumbnail, job: made.job, for: made.asset)
        context.metrics.thumbnailDuration.record(ContinuousClock.now - made.started)
        finished(made.job)
    }

    func store(_ thumbnail: Thumbnail, job: Job, for asset: Asset) async {
        guard let project = ProjectID(exactly: asset.projectID) else { return }
        let name = ThumbnailNaming.name(forStored: asset.filename)
        do {
            let layout = context.layout
            let relative = try layout.relativePath(.thumbnails, project, name)
            let target = try layout.absolute(relative)
            let jpeg = Array(thumbnail.jpeg)
            let ready = IngestEvent(.thumbnailReady, about: asset)
            let config = context.config.current
            let temporaryFolder = context.ingestor.stagingFolder
            // The file, then the record, the job and the event together, in one call to the blocking threads.
            let recorded = try await context.withCatalog { catalog -> Recorded in
                // A job passed to another node meanwhile is that node's to write: its file is not overwritten
                // (the transaction below checks again, for a loss in between).
                guard try catalog.holdsJob(job) else { return .claimLost }
                try FileOps.makeDirectories(layout.projectPath(.thumbnails, project))
                try FileOps.makeDirectories(temporaryFolder)
                _ = try FileOps.writeAtomically(
                    jpeg,
                    to: target,
                    replace: true,
                    durable: false,
                    temporaryDirectory: temporaryFolder
                )
                return try catalog.write { tx -> Recorded in
                    guard var current = try tx.asset(id: asset.id) else { return .assetGone }
                    // Only the job's owner records its end (a lapsed lease taken over is another node's now).
                    guard try tx.completeJob(id: job.id) else { return .claimLost }
                    current.thumbnailPath = relative
                    current.updatedAt = ISO8601Millis.now()
                    try tx.update(current)
                    _ = try tx.appendEvent(ready)
                    // The sprite and renditions follow the thumbnail, in the background.
                    try DerivedWork.enqueue(assetID: asset.id, config: config, in: tx)
                    return .recorded
                }
            }
            switch recorded {
            case .recorded:
                break
            case .assetGone:
                // Deleted while rendering: the thumbnail has no owner.
                _ = try? await context.blocking.run { unlink(target) }
                return
            case .claimLost:
                // Nothing written, or (lost between the look and the record) the file stays: the node that holds
                // the job now writes the same name, and records it.
                context.logger.notice(
                    "thumbnail made after its job passed to another claim; not recorded here",
                    metadata: ["asset.id": "\(asset.id)", "job.id": "\(job.id)"]
                )
                return
            }
            context.events.catchUpSoon()
            derivedWorkQueued()
            context.logger.info(
                "thumbnail ready",
                metadata: ["project.id": "\(asset.projectID)", "asset.id": "\(asset.id)", "filename": "\(relative)"]
            )
        } catch let error as StorageError where error.code == .catalogUnavailable {
            // Made, but not recorded: made again once the catalog is back.
            waitForCatalog(job, error)
        } catch {
            // The record speaks of the user's file; the log keeps the storage path for the operator.
            context.logger.error(
                "thumbnail could not be stored",
                metadata: ["project.id": "\(asset.projectID)", "asset.id": "\(asset.id)", "error": "\(error)"]
            )
            let why = UserWording.reason(error)
            await fail(
                job,
                asset,
                "the thumbnail of \(asset.projectID)/\(asset.originalFilename) could not be stored: \(why)"
            )
        }
    }

    /// What storing a thumbnail's record found.
    private enum Recorded {
        case recorded
        /// The asset was deleted while its thumbnail was made.
        case assetGone
        /// The job is no longer this claim's: cancelled, or taken over once its lease lapsed.
        case claimLost
    }

    /// The catalog was lost (a read, the record or the file's claim failed), not the file: the job is tried
    /// again once the catalog answers, its attempt given back (none when it was only held, never `started`).
    /// Marking the asset failed would be a lie.
    func waitForCatalog(_ job: Job, _ error: any Error, started: Bool = true) {
        context.logger.notice(
            "thumbnail waits for the catalog",
            metadata: ["asset.id": "\(job.assetID)", "error": "\(error)"]
        )
        Task { [self] in
            // The release names this claim: a later claim of the same job (the lease lapsed meanwhile) is left
            // alone. A stop still gets one last try, so that it is not counted as a crash.
            repeat {
                try? await Task.sleep(for: .seconds(2))
                let released = try? await context.withCatalog { catalog in
                    try started ? catalog.releaseJob(job) : catalog.releaseHeldJobs([job])
                }
                if released != nil { break }
            } while !isStopping
            doorbell.ring()
        }
    }

    /// Gives `job` up and marks its asset `failed` with `reason` (the thumbnail is part of ingest), together in
    /// one transaction; nothing when the claim was lost meanwhile (another node has the job) or the asset has its
    /// thumbnail or is gone.
    func fail(_ job: Job, _ asset: Asset, _ reason: String) async {
        let failed = try? await context.withCatalog { catalog in
            try catalog.write { tx -> Bool in
                guard var current = try tx.asset(id: asset.id), current.thumbnailPath == nil,
                    try tx.failJob(job, error: reason)
                else { return false }
                current.status = .failed
                current.error = reason
                current.updatedAt = ISO8601Millis.now()
                try tx.update(current)
                return true
            }
        }
        guard failed == true else { return }
        context.metrics.failed.increment()
        context.logger.error(
            "asset failed",
            metadata: ["project.id": "\(asset.projectID)", "asset.id": "\(asset.id)", "error": "\(reason)"]
        )
        await context.events.publish(.failed(asset, step: "thumbnail", error: reason))
    }
}
