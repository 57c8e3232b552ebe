import Testing

@testable import StorageKit

struct CatalogThumbnailTests {
    @Test func missingThumbnailListsReadyAssetsUntilTwoAttempts() throws {
        let catalog = try Catalog.inMemory()
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

    @Test func updatingARecordKeepsItsAttemptCount() throws {
        let catalog = try Catalog.inMemory()
        var a = Fixture.asset()
        try catalog.insert(a)
        _ = try catalog.beginThumbnailAttempt(id: a.id)
        a.mimeType = "video/quicktime"
        try catalog.update(a)
        #expect(try catalog.beginThumbnailAttempt(id: a.id) == 2)
    }

    @Test func unknownAssetIsNotFound() throws {
        let catalog = try Catalog.inMemory()
        #expect(
            throwsStorageError(.notFound, { _ = try catalog.beginThumbnailAttempt(id: "zzz") }) {
                $0.message.contains("zzz")
            }
        )
        #expect(throwsStorageError(.notFound, { try catalog.resetThumbnailAttempts(id: "zzz") }))
    }
}
