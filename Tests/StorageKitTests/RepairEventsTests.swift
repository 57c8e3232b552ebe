import Foundation
import IngestConfig
import Logging
import Testing

@testable import StorageKit

/// Audit of 2026-12-07: what `repair` changes in the catalog is told on `/events`, its dry run reports what the
/// real run does, and it is the operator's way to try again a thumbnail given up after two unclean stops.
@Suite(.timeLimit(.minutes(3)))
struct RepairEventsTests {
    private static let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }

    private static func setUp() throws -> (TempDir, StorageLayout, Catalog) {
        let dir = try TempDir("repair-events")
        let layout = StorageLayout(root: dir.path)
        try layout.createCategoryFolders()
        return (dir, layout, try Catalog.inMemory())
    }

    @Test func recordsRepairRemovesOrCreatesAreAnnouncedAsEvents() async throws {
        let (dir, layout, catalog) = try Self.setUp()
        defer { dir.remove() }
        let gone = Fixture.asset(project: "demo", size: 4)
        try catalog.insert(gone)  // its stored file was removed by hand
        let clips = try ClipFactory()
        defer { clips.remove() }
        let clip = try await clips.h264WithAudio()
        let stray = layout.root + "/uploads/project_demo/stray-0123456789.mp4"
        try FileManager.default.createDirectory(
            atPath: layout.root + "/uploads/project_demo",
            withIntermediateDirectories: true
        )
        try FileManager.default.copyItem(atPath: clip, toPath: stray)

        let summary = try Repair.run(layout: layout, catalog: catalog, dryRun: false, logger: Self.logger)
        #expect(summary.recordsRemoved == 1 && summary.recordsCreated == 1)
        let events = try catalog.events(after: 0, limit: 100)
        let created = try #require(try catalog.allAssets().first)
        #expect(events.contains { $0.type == .deleted && $0.assetID == gone.id })
        #expect(events.contains { $0.type == .ingested && $0.assetID == created.id })
    }

    @Test func aDryRunCountsTheDerivedFilesOfRecordsItWouldRemove() throws {
        let (dir, layout, catalog) = try Self.setUp()
        defer { dir.remove() }
        let gone = Fixture.asset(project: "demo", size: 4, thumbnailPath: "thumbnails/project_demo/t.jpg")
        try catalog.insert(gone)
        let folder = try ProcessedStore(layout: layout).folderRelative(for: gone)
        _ = try dir.file(folder + "/sprite.jpg", size: 8)
        let config = IngestConfiguration()
        let dry = try Repair.run(layout: layout, catalog: catalog, dryRun: true, logger: Self.logger, config: config)
        let real = try Repair.run(layout: layout, catalog: catalog, dryRun: false, logger: Self.logger, config: config)
        #expect(real.orphanProcessedRemoved == 1)
        #expect(dry.orphanProcessedRemoved == real.orphanProcessedRemoved)
        #expect(try catalog.events(after: 0, limit: 10).isEmpty == false)
    }

    @Test func aThumbnailGivenUpIsTriedAgainByRepair() throws {
        let (dir, layout, catalog) = try Self.setUp()
        defer { dir.remove() }
        var asset = Fixture.asset(project: "demo", size: 4)
        _ = try dir.file(asset.relativePath, size: 4)
        asset.status = .failed
        asset.error = "decoder crashed twice while making the thumbnail; not tried again"
        try catalog.insert(asset)
        _ = try catalog.enqueueJob(.thumbnail, assetID: asset.id, params: "")
        let job = try #require(try catalog.claimJob(kinds: [.thumbnail]))
        #expect(try catalog.failJob(job, error: asset.error!))
        // A record repair itself marked failed (its file changed) stays failed.
        var changed = Fixture.asset(project: "demo", size: 4)
        _ = try dir.file(changed.relativePath, size: 4)
        changed.status = .failed
        changed.error = "repair: the stored file has 4 bytes, the record says 9"
        try catalog.insert(changed)

        let dry = try Repair.run(layout: layout, catalog: catalog, dryRun: true, logger: Self.logger)
        #expect(dry.failedThumbnailsRetried == 1)
        #expect(try catalog.asset(id: asset.id)?.status == .failed)
        let summary = try Repair.run(layout: layout, catalog: catalog, dryRun: false, logger: Self.logger)
        #expect(summary.failedThumbnailsRetried == 1)
        let retried = try #require(try catalog.asset(id: asset.id))
        #expect(retried.status == .ready && retried.error == nil)
        let queued = try #require(try catalog.jobs(assetID: asset.id).first { $0.kind == .thumbnail })
        #expect(queued.state == .queued && queued.attempts == 0)
        #expect(summary.thumbnailAssetIDs.contains(asset.id))
        #expect(try catalog.asset(id: changed.id)?.status == .failed)
    }

    /// Review of 2026-12-07: a failed asset is not made `ready` again when a record with the same content entered
    /// its project meanwhile (it was dropped again), nor when it would take the project past its quota.
    @Test func aGivenUpThumbnailIsNotRetriedPastTheDuplicateRuleOrTheQuota() throws {
        let (dir, layout, catalog) = try Self.setUp()
        defer { dir.remove() }
        var failed = Fixture.asset(project: "demo", checksum: String(repeating: "cd", count: 32), size: 4)
        _ = try dir.file(failed.relativePath, size: 4)
        failed.status = .failed
        failed.error = "thumbnail: no frame"
        try catalog.insert(failed)
        let again = Fixture.asset(project: "demo", checksum: failed.checksum, size: 4, thumbnailPath: "t.jpg")
        _ = try dir.file(again.relativePath, size: 4)
        try catalog.insert(again)
        var config = IngestConfiguration()
        let refused = try Repair.run(
            layout: layout,
            catalog: catalog,
            dryRun: false,
            logger: Self.logger,
            config: config
        )
        #expect(refused.failedThumbnailsRetried == 0)
        #expect(try catalog.asset(id: failed.id)?.status == .failed)
        config.duplicates = .keep
        config.projectQuotaBytes = 6
        let overQuota = try Repair.run(
            layout: layout,
            catalog: catalog,
            dryRun: false,
            logger: Self.logger,
            config: config
        )
        #expect(overQuota.failedThumbnailsRetried == 0)
        config.projectQuotaBytes = 8
        let kept = try Repair.run(layout: layout, catalog: catalog, dryRun: false, logger: Self.logger, config: config)
        #expect(kept.failedThumbnailsRetried == 1)
        #expect(try catalog.asset(id: failed.id)?.status == .ready)
    }

    /// Review of 2026-12-07: a record removed by someone else while repair ran (an operator's delete) is neither
    /// counted nor announced a second time.
    @Test func aRecordDeletedWhileRepairRunsIsNotAnnouncedTwice() throws {
        let (dir, layout, catalog) = try Self.setUp()
        defer { dir.remove() }
        let gone = Fixture.asset(project: "demo", size: 4)
        try catalog.insert(gone)
        let summary = try Repair.run(
            layout: layout,
            catalog: catalog,
            dryRun: false,
            logger: Self.logger,
            afterSnapshot: { _ = try catalog.delete(id: gone.id) }
        )
        #expect(summary.recordsRemoved == 0)
        #expect(try catalog.events(after: 0, limit: 10).isEmpty)
    }
}
