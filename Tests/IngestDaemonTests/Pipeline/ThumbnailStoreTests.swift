import Foundation
import StorageKit
import Testing

@testable import IngestDaemon

/// A made thumbnail is recorded only by the claim that still holds its job: a worker whose lease lapsed and
/// whose job another node took over neither records it nor queues the work that follows it, and leaves the file
/// the other node writes under the same name.
@Suite struct ThumbnailStoreTests {
    private static func context(_ dir: TempDir) throws -> DaemonContext {
        try DaemonContext.forTests(in: dir, nodeID: "n1")
    }

    /// A context whose catalog holds a `ready` asset with its thumbnail job queued.
    private static func readyAssetWithAThumbnailJob(in dir: TempDir) throws -> (DaemonContext, Asset) {
        let context = try Self.context(dir)
        let asset = Self.readyAsset()
        try context.catalog.insert(asset)
        try context.catalog.enqueueJob(.thumbnail, assetID: asset.id, params: "")
        return (context, asset)
    }

    private static func readyAsset() -> Asset {
        Asset(
            projectID: "p1",
            filename: "clip-1.mp4",
            originalFilename: "clip.mp4",
            relativePath: "uploads/project_p1/clip-1.mp4",
            checksum: String(repeating: "ab", count: 32),
            sizeBytes: 10,
            mimeType: "video/mp4",
            status: .ready,
            createdAt: Date(),
            updatedAt: Date()
        )
    }

    private static let thumbnail = Thumbnail(jpeg: [0xFF, 0xD8, 0xFF, 0xD9], width: 2, height: 2)

    @Test func aThumbnailWhoseJobPassedToAnotherNodeIsNotRecordedHere() async throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let (context, asset) = try Self.readyAssetWithAThumbnailJob(in: dir)
        let longAgo = Date().addingTimeInterval(-600)
        let lapsed = try #require(try context.catalog.claimJob(kinds: [.thumbnail], lease: .seconds(30), now: longAgo))
        let other = try Catalog.open(layout: context.layout, nodeID: "n2")
        _ = try #require(try other.claimJob(kinds: [.thumbnail]))

        let service = ThumbnailService(context: context)
        await service.store(Self.thumbnail, job: lapsed, for: asset)

        #expect(try context.catalog.asset(id: asset.id)?.thumbnailPath == nil)
        let jobs = try context.catalog.jobs(assetID: asset.id)
        #expect(jobs.map(\.kind) == [.thumbnail], "the sprite and renditions were queued by the lost claim")
        #expect(jobs.first?.leaseOwner == "n2")
        // The other node's thumbnail file (same name) is not written over.
        let thumbnails = context.layout.projectPath(.thumbnails, try #require(ProjectID(exactly: "p1")))
        #expect(
            !FileManager.default.fileExists(atPath: thumbnails + "/" + ThumbnailNaming.name(forStored: asset.filename))
        )
    }

    @Test func aThumbnailStoredByItsOwnerIsRecordedAndQueuesWhatFollows() async throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let (context, asset) = try Self.readyAssetWithAThumbnailJob(in: dir)
        let job = try #require(try context.catalog.claimJob(kinds: [.thumbnail]))

        await ThumbnailService(context: context).store(Self.thumbnail, job: job, for: asset)

        let path = try #require(try context.catalog.asset(id: asset.id)?.thumbnailPath)
        #expect(FileManager.default.fileExists(atPath: dir.path + "/storage/" + path))
        #expect(try !context.catalog.jobs(assetID: asset.id).contains { $0.kind == .thumbnail })
    }
}
