import Foundation
import GRDB
import Logging
import Testing

@testable import StorageKit

/// Thumbnails are rows of the `jobs` queue, like sprites and renditions.
struct CatalogThumbnailJobTests {
    @Test func aCatalogFromBeforeThumbnailJobsQueuesTheMissingThumbnailsWithTheirAttempts() throws {
        let dir = try TempDir("thumbnail-jobs")
        defer { dir.remove() }
        let layout = StorageLayout(root: dir.path)
        try layout.createCategoryFolders()
        // A catalog as the previous version left it: thumbnails tracked on the asset rows.
        let queue = try DatabaseQueue(path: layout.catalogPath)
        try SQLiteMigrations.migrator.migrate(queue, upTo: "v5-thumbnail-leases")
        try queue.write { db in
            for (id, status, thumbnail, attempts) in [
                ("needs", "ready", nil, 0), ("crashed-once", "ready", nil, 1), ("has", "ready", "t/x.jpg", 0),
                ("busy", "processing", nil, 0), ("broken", "failed", nil, 2),
            ] as [(String, String, String?, Int)] {
                try db.execute(
                    sql: """
                        INSERT INTO assets (id, project_id, filename, original_filename, relative_path, checksum,
                            size_bytes, mime_type, status, thumbnail_path, created_at, updated_at, thumbnail_attempts)
                        VALUES (?, 'demo', ?, ?, ?, 'c', 1, 'video/mp4', ?, ?, 1, 1, ?)
                        """,
                    arguments: [id, id, id, "uploads/project_demo/" + id, status, thumbnail, attempts]
                )
            }
        }
        try queue.close()

        let catalog = try Catalog.open(layout: layout)
        #expect(try catalog.pendingJobs(kinds: [.thumbnail]) == 2)
        #expect(try catalog.jobs(assetID: "needs").map(\.kind) == [.thumbnail])
        #expect(try catalog.jobs(assetID: "has").isEmpty)
        #expect(try catalog.jobs(assetID: "busy").isEmpty)
        let first = try #require(try catalog.claimJob(kinds: [.thumbnail]))
        let second = try #require(try catalog.claimJob(kinds: [.thumbnail]))
        #expect(Set([first.assetID, second.assetID]) == ["needs", "crashed-once"])
        // The attempt that never ended is still counted: the next one renders alone.
        #expect([first, second].first { $0.assetID == "crashed-once" }?.attempts == 2)
    }

    @Test(arguments: TestBackend.all) func repairQueuesTheThumbnailsThatAreMissing(_ backend: TestBackend) throws {
        let dir = try TempDir("thumbnail-repair")
        defer { dir.remove() }
        let layout = StorageLayout(root: dir.path)
        try layout.createCategoryFolders()
        let catalog = try backend.catalog()
        let asset = Fixture.asset()
        let path = try layout.absolute(asset.relativePath)
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent,
            withIntermediateDirectories: true
        )
        try Data(count: Int(asset.sizeBytes)).write(to: URL(fileURLWithPath: path))
        try catalog.insert(asset)
        // A thumbnail job given up earlier is queued again with fresh attempts.
        try catalog.enqueueJob(.thumbnail, assetID: asset.id, params: "")
        let given = try #require(try catalog.claimJob(kinds: [.thumbnail]))
        try catalog.failJob(given, error: "x")
        #expect(try catalog.pendingJobs(kinds: [.thumbnail]) == 0)

        let summary = try Repair.run(layout: layout, catalog: catalog, dryRun: false, logger: .init(label: "t"))
        #expect(summary.thumbnailsQueued == 1)
        let job = try #require(try catalog.claimJob(kinds: [.thumbnail]))
        #expect(job.assetID == asset.id && job.attempts == 1)
    }
}
