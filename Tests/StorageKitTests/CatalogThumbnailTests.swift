import Testing

@testable import StorageKit

struct CatalogThumbnailTests {
    @Test(arguments: TestBackend.all) func missingThumbnailListsReadyAssetsUntilTwoAttempts(
        _ backend: TestBackend
    ) throws {
        let catalog = try backend.catalog()
        let needs = Fixture.asset(createdMillis: 1)
        let has = Fixture.asset(createdMillis: 2, thumbnailPath: "thumbnails/project_demo/a.jpg")
        let processing = Fixture.asset(createdMillis: 3, status: .processing)
        let failed = Fixture.asset(createdMillis: 4, status: .failed, error: "x")
        let needsToo = Fixture.asset(project: "other", createdMillis: 5)
        try catalog.insertBatch([needs, has, processing, failed, needsToo])
        #expect(try catalog.assetsMissingThumbnail() == [needs, needsToo])

        #expect(try catalog.beginThumbnailAttempt(id: needs.id) == 1)
        #expect(try catalog.assetsMissingThumbnail() == [needs, needsToo])
        #expect(try catalog.beginThumbnailAttempt(id: needs.id) == 2)
        #expect(try catalog.assetsMissingThumbnail() == [needsToo])
        #expect(try catalog.beginThumbnailAttempt(id: needs.id) == 3)

        try catalog.resetThumbnailAttempts(id: needs.id)
        #expect(try catalog.assetsMissingThumbnail() == [needs, needsToo])
    }

    @Test(arguments: TestBackend.all) func updatingARecordKeepsItsAttemptCount(_ backend: TestBackend) throws {
        let catalog = try backend.catalog()
        var a = Fixture.asset()
        try catalog.insert(a)
        _ = try catalog.beginThumbnailAttempt(id: a.id)
        a.mimeType = "video/quicktime"
        try catalog.update(a)
        #expect(try catalog.beginThumbnailAttempt(id: a.id) == 2)
    }

    @Test(arguments: TestBackend.all) func unknownAssetIsNotFound(_ backend: TestBackend) throws {
        let catalog = try backend.catalog()
        #expect(
            throwsStorageError(.notFound, { _ = try catalog.beginThumbnailAttempt(id: "zzz") }) {
                $0.message.contains("zzz")
            }
        )
        #expect(throwsStorageError(.notFound, { try catalog.resetThumbnailAttempts(id: "zzz") }))
    }
}

struct CatalogThumbnailLeaseTests {
    @Test(arguments: TestBackend.all) func aClaimCountsAnAttemptAndAResetReleasesIt(_ backend: TestBackend) throws {
        let catalog = try backend.catalog()
        let asset = Fixture.asset()
        try catalog.insert(asset)
        #expect(try catalog.claimThumbnail(id: asset.id) == 1)
        #expect(try catalog.claimThumbnail(id: asset.id) == 2, "the same node may claim again")
        try catalog.resetThumbnailAttempts(id: asset.id)
        #expect(try catalog.claimOrphanedThumbnails(limit: 5) == [asset.id])
        #expect(try catalog.claimThumbnail(id: "nope") == nil)
        var done = asset
        done.thumbnailPath = "thumbnails/project_demo/x.jpg"
        try catalog.update(done)
        #expect(try catalog.claimThumbnail(id: asset.id) == nil)
    }
}
