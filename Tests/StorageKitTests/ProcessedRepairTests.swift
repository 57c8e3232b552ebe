import Foundation
import IngestConfig
import Logging
import Testing

@testable import StorageKit

/// `repair` with a configuration also checks `processed/`: records forget derived files that are gone, what
/// is missing is queued again, and what no record owns is removed.
struct ProcessedRepairTests {
    @Test func missingDerivedFilesAreQueuedAndOrphansRemoved() throws {
        let dir = try TempDir("processed-repair")
        defer { dir.remove() }
        let layout = StorageLayout(root: dir.path)
        try layout.createCategoryFolders()
        let catalog = try Catalog.inMemory()
        var metadata = MediaMetadata()
        metadata.width = 320
        metadata.height = 180
        var asset = Fixture.asset(size: 16, metadata: metadata, thumbnailPath: "thumbnails/project_demo/t.jpg")
        try dir.file(asset.relativePath, size: 16)
        try dir.file("thumbnails/project_demo/t.jpg", size: 4)
        let store = ProcessedStore(layout: layout)
        let folder = try store.folderRelative(for: asset)
        // Listed but gone: forgotten and made again.
        asset.renditions = [
            Rendition(
                name: "180p",
                relativePath: folder + "/180p.mp4",
                width: 320,
                height: 180,
                videoCodec: "h264",
                audioCodec: nil,
                sizeBytes: 10
            )
        ]
        try catalog.insert(asset)
        try dir.file(folder + "/stale-720p.mp4", size: 8)  // in the asset's folder, listed nowhere
        try dir.file("processed/project_demo/ghost-0123456789/720p.mp4", size: 8)  // no record owns the folder

        var config = IngestConfiguration()
        config.renditions = [.p720]
        config.spriteInterval = .auto
        let dry = try Repair.run(
            layout: layout,
            catalog: catalog,
            dryRun: true,
            logger: Logger(label: "t"),
            config: config
        )
        #expect(dry.renditionsQueued == 1 && dry.spritesQueued == 1 && dry.orphanProcessedRemoved == 2)
        #expect(try catalog.jobs(assetID: asset.id).isEmpty)
        #expect(FileManager.default.fileExists(atPath: dir.path + "/processed/project_demo/ghost-0123456789"))

        let summary = try Repair.run(
            layout: layout,
            catalog: catalog,
            dryRun: false,
            logger: Logger(label: "t"),
            config: config
        )
        #expect(summary.renditionsQueued == 1 && summary.spritesQueued == 1 && summary.orphanProcessedRemoved == 2)
        #expect(try catalog.asset(id: asset.id)?.renditions == [])
        let jobs = try catalog.jobs(assetID: asset.id)
        #expect(jobs.map(\.kind) == [.sprite, .renditions])
        #expect(jobs.last?.params == "mp4:720p")
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/processed/project_demo/ghost-0123456789"))
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/" + folder + "/stale-720p.mp4"))

        // Queued already: a second repair queues nothing more.
        let again = try Repair.run(
            layout: layout,
            catalog: catalog,
            dryRun: false,
            logger: Logger(label: "t"),
            config: config
        )
        #expect(again.renditionsQueued == 0 && again.spritesQueued == 0 && again.orphanProcessedRemoved == 0)
    }
}

/// A claimed job clears what its earlier attempts left half-written: this node's at once, another node's only
/// once it has not been written for a while (that node may still be encoding, its lease lapsed in an outage).
struct ProcessedLeftoverTests {
    @Test func aClaimClearsItsOwnLeftoversAndOnlyStaleOnesOfOtherNodes() throws {
        let dir = try TempDir("leftovers")
        defer { dir.remove() }
        let layout = StorageLayout(root: dir.path)
        let store = ProcessedStore(layout: layout)
        let asset = Fixture.asset()
        let relative = try store.renditionRelative(for: asset, name: "720p", container: .mp4)
        let mine = try store.temporaryPath(for: relative, owner: "node-a")
        let theirs = try store.temporaryPath(for: relative, owner: "node-b")
        let theirsStale = try store.temporaryPath(for: relative, owner: "node-b")
        let sprite = FileOps.parent(mine) + "/" + FileOps.temporaryName(for: "sprite.jpg")
        for path in [mine, theirs, theirsStale, sprite] { try writeFile(path, [1]) }
        var old = [timespec(tv_sec: 1_000, tv_nsec: 0), timespec(tv_sec: 1_000, tv_nsec: 0)]
        #expect(utimensat(AT_FDCWD, theirsStale, &old, 0) == 0)
        #expect(FileOps.temporaryOwner(FileOps.lastComponent(mine)) == "node-a")
        #expect(store.removeLeftovers(of: asset, for: .renditions, node: "node-a") == 2)
        #expect(fileKind(mine) == nil && fileKind(theirsStale) == nil)
        #expect(fileKind(theirs) == "file", "another node may still be writing it")
        #expect(fileKind(sprite) == "file", "the sprite job's files are its own")
    }
}
