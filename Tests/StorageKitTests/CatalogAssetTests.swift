import Foundation
import Testing

@testable import StorageKit

struct CatalogAssetTests {
    @Test(arguments: TestBackend.all) func insertThenGetRoundTripsExactly(_ backend: TestBackend) throws {
        let catalog = try backend.catalog()
        let full = Fixture.asset(metadata: Fixture.fullMetadata, thumbnailPath: "thumbnails/project_demo/x.jpg")
        let bare = Fixture.asset(createdMillis: Fixture.baseMillis + 7, status: .processing)
        let emptyMetadata = Fixture.asset(metadata: MediaMetadata())
        let failed = Fixture.asset(status: .failed, error: "probe failed: Invalid data found")
        for a in [full, bare, emptyMetadata, failed] { try catalog.insert(a) }
        for a in [full, bare, emptyMetadata, failed] {
            let back = try #require(try catalog.asset(id: a.id))
            #expect(back == a)
            #expect(ISO8601Millis.string(from: back.createdAt) == ISO8601Millis.string(from: a.createdAt))
        }
        #expect(try catalog.asset(id: "nope") == nil)
    }

    @Test(arguments: TestBackend.all) func renditionsAndSpriteRoundTripAndUpdate(_ backend: TestBackend) throws {
        let catalog = try backend.catalog()
        var asset = Fixture.asset(metadata: Fixture.fullMetadata)
        try catalog.insert(asset)
        #expect(try catalog.asset(id: asset.id)?.renditions == [])
        #expect(try catalog.asset(id: asset.id)?.sprite == nil)
        asset.renditions = [
            Rendition(
                name: "720p",
                relativePath: "processed/project_demo/x/720p.mp4",
                width: 1280,
                height: 720,
                videoCodec: "h264",
                audioCodec: "aac",
                sizeBytes: 734_003
            ),
            Rendition(
                name: "120p",
                relativePath: "processed/project_demo/x/120p.mp4",
                width: 160,
                height: 120,
                videoCodec: "h264",
                audioCodec: nil,
                sizeBytes: 1_000
            ),
        ]
        asset.sprite = SpriteSheet(
            imagePath: "processed/project_demo/x/sprite.jpg",
            vttPath: "processed/project_demo/x/sprite.vtt",
            intervalSeconds: 0.5,
            count: 25,
            columns: 10,
            tileWidth: 160,
            tileHeight: 90
        )
        try catalog.write { try $0.update(asset) }
        #expect(try catalog.asset(id: asset.id) == asset)
        let json = String(decoding: try #require(try catalog.asset(id: asset.id)).orderedJSON, as: UTF8.self)
        #expect(json.contains(#""renditions":[{"name":"720p","relative_path":"processed/project_demo/x/720p.mp4""#))
        #expect(json.contains(#""sprite":{"image_path":"processed/project_demo/x/sprite.jpg""#))
    }

    @Test(arguments: TestBackend.all) func millisecondsSurviveTheRoundTrip(_ backend: TestBackend) throws {
        let catalog = try backend.catalog()
        // Times a few ms apart across a wide range; any float slip shows up as a different ms.
        let assets = (0..<500).map { i in Fixture.asset(createdMillis: 1_000_000_000_000 + Int64(i) * 987_654_321 + 1) }
        try catalog.insertBatch(assets)
        for a in assets {
            let back = try #require(try catalog.asset(id: a.id))
            #expect(ISO8601Millis.milliseconds(back.createdAt) == ISO8601Millis.milliseconds(a.createdAt))
            #expect(back == a)
        }
    }

    @Test(arguments: TestBackend.all) func insertingATakenIDOrPathIsAConflict(_ backend: TestBackend) throws {
        let catalog = try backend.catalog()
        let a = Fixture.asset()
        try catalog.insert(a)
        var sameID = Fixture.asset()
        sameID.id = a.id
        #expect(throwsStorageError(.conflict, { try catalog.insert(sameID) }) { $0.message.contains(a.id) })
        var samePath = Fixture.asset()
        samePath.relativePath = a.relativePath
        #expect(throwsStorageError(.conflict, { try catalog.insert(samePath) }) { $0.message.contains(a.relativePath) })
        #expect(try catalog.allAssets() == [a])
    }

    @Test(arguments: TestBackend.all) func updateReplacesAndMissingIsNotFound(_ backend: TestBackend) throws {
        let catalog = try backend.catalog()
        var a = Fixture.asset(status: .processing)
        try catalog.insert(a)
        a.status = .ready
        a.metadata = Fixture.fullMetadata
        a.thumbnailPath = "thumbnails/project_demo/t.jpg"
        a.updatedAt = ISO8601Millis.date(milliseconds: Fixture.baseMillis + 99_999)
        try catalog.update(a)
        #expect(try catalog.asset(id: a.id) == a)

        let ghost = Fixture.asset(id: "ghost-id")
        #expect(throwsStorageError(.notFound, { try catalog.update(ghost) }) { $0.message.contains("ghost-id") })
    }

    @Test(arguments: TestBackend.all) func assetInProjectIsNilForAnotherProject(_ backend: TestBackend) throws {
        let catalog = try backend.catalog()
        let a = Fixture.asset(project: "demo")
        try catalog.insert(a)
        #expect(try catalog.asset(project: Fixture.demo, id: a.id) == a)
        #expect(try catalog.asset(project: Fixture.other, id: a.id) == nil)
        #expect(try catalog.asset(project: Fixture.demo, id: "missing") == nil)
    }

    @Test(arguments: TestBackend.all) func listIsOldestFirstThenInsertionOrder(_ backend: TestBackend) throws {
        let catalog = try backend.catalog()
        let late = Fixture.asset(createdMillis: Fixture.baseMillis + 500)
        let early = Fixture.asset(createdMillis: Fixture.baseMillis - 500)
        let tieFirst = Fixture.asset(createdMillis: Fixture.baseMillis)
        let tieSecond = Fixture.asset(createdMillis: Fixture.baseMillis)
        let elsewhere = Fixture.asset(project: "other", createdMillis: Fixture.baseMillis - 9_999)
        for a in [late, early, tieFirst, elsewhere, tieSecond] { try catalog.insert(a) }
        #expect(try catalog.list(project: Fixture.demo, limit: nil, after: nil) == [early, tieFirst, tieSecond, late])
        #expect(try catalog.list(project: Fixture.demo, limit: 2, after: nil) == [early, tieFirst])
        #expect(try catalog.list(project: Fixture.demo, limit: 0, after: nil) == [])
        #expect(try catalog.list(project: Fixture.demo, limit: nil, after: tieFirst.id) == [tieSecond, late])
        #expect(try catalog.list(project: Fixture.demo, limit: 5, after: late.id) == [])
        #expect(try catalog.list(project: ProjectID(exactly: "empty")!, limit: nil, after: nil) == [])
        #expect(try catalog.latest(project: Fixture.demo, limit: 2) == [tieSecond, late])
    }

    @Test(arguments: TestBackend.all) func pagingIsStableForIdenticalTimestamps(_ backend: TestBackend) throws {
        let catalog = try backend.catalog()
        let assets = (0..<1_000).map { i in Fixture.asset(id: String(format: "id-%04d", 999 - i)) }
        try catalog.insertBatch(assets)
        var seen: [Asset] = []
        var cursor: String?
        var pages = 0
        while true {
            let page = try catalog.list(project: Fixture.demo, limit: 100, after: cursor)
            if page.isEmpty { break }
            #expect(page.count == 100)
            seen += page
            cursor = page.last?.id
            pages += 1
        }
        #expect(pages == 10)
        #expect(seen == assets)
    }

    @Test(arguments: TestBackend.all) func unknownOrForeignCursorIsNotFoundAndNegativeLimitIsRefused(
        _ backend: TestBackend
    ) throws {
        let catalog = try backend.catalog()
        let mine = Fixture.asset()
        let foreign = Fixture.asset(project: "other")
        try catalog.insertBatch([mine, foreign])
        #expect(
            throwsStorageError(
                .notFound,
                { _ = try catalog.list(project: Fixture.demo, limit: 10, after: "no-such-id") }
            ) {
                $0.message.contains("no-such-id") && $0.message.contains("demo")
            }
        )
        #expect(
            throwsStorageError(.notFound, { _ = try catalog.list(project: Fixture.demo, limit: 10, after: foreign.id) })
        )
        #expect(
            throwsStorageError(.invalidArgument, { _ = try catalog.list(project: Fixture.demo, limit: -1, after: nil) })
        )
    }

    @Test(arguments: TestBackend.all) func deleteReturnsTheRecordOnce(_ backend: TestBackend) throws {
        let catalog = try backend.catalog()
        let a = Fixture.asset()
        try catalog.insert(a)
        #expect(try catalog.delete(id: a.id) == a)
        #expect(try catalog.delete(id: a.id) == nil)
        #expect(try catalog.asset(id: a.id) == nil)
    }

    @Test(arguments: TestBackend.all) func deleteProjectRemovesOnlyThatProject(_ backend: TestBackend) throws {
        let catalog = try backend.catalog()
        let mine = (0..<3).map { _ in Fixture.asset() }
        let theirs = Fixture.asset(project: "other")
        try catalog.insertBatch(mine + [theirs])
        #expect(try catalog.deleteProject(Fixture.demo) == 3)
        #expect(try catalog.deleteProject(Fixture.demo) == 0)
        #expect(try catalog.allAssets() == [theirs])
    }

    @Test(arguments: TestBackend.all) func existingFindsReadyOrProcessingInTheSameProjectOnly(
        _ backend: TestBackend
    ) throws {
        let catalog = try backend.catalog()
        let sum = String(repeating: "c", count: 64)
        let failed = Fixture.asset(checksum: sum, status: .failed, error: "boom")
        try catalog.insert(failed)
        #expect(try catalog.existing(project: Fixture.demo, checksum: sum) == nil)
        let processing = Fixture.asset(createdMillis: Fixture.baseMillis + 1, checksum: sum, status: .processing)
        try catalog.insert(processing)
        #expect(try catalog.existing(project: Fixture.demo, checksum: sum) == processing)
        let ready = Fixture.asset(createdMillis: Fixture.baseMillis + 2, checksum: sum, status: .ready)
        try catalog.insert(ready)
        #expect(try catalog.existing(project: Fixture.demo, checksum: sum) == processing)
        #expect(try catalog.existing(project: Fixture.other, checksum: sum) == nil)
        #expect(try catalog.existing(project: Fixture.demo, checksum: String(repeating: "d", count: 64)) == nil)
    }

    @Test func duplicateLookUpAndListingUseTheirIndexes() throws {
        let catalog = try Catalog.inMemory()
        let lookUp = try catalog.queryPlan(
            """
            SELECT \(Asset.selectColumns) FROM assets
            WHERE project_id = 'p' AND checksum = 'c' AND status IN ('ready', 'processing')
            ORDER BY created_at, rowid LIMIT 1
            """
        )
        let page = try catalog.queryPlan(
            """
            SELECT \(Asset.selectColumns) FROM assets
            WHERE project_id = 'p' AND (created_at, rowid) > (1, 2) ORDER BY created_at, rowid LIMIT 100
            """
        )
        let plans = [lookUp, page]
        #expect(plans[0].contains("assets_project_checksum"), "\(plans[0])")
        #expect(plans[1].contains("assets_project_created"), "\(plans[1])")
        #expect(!plans[1].contains("TEMP B-TREE"), "paging must not sort: \(plans[1])")
    }

    @Test(arguments: TestBackend.all) func assetsByStatusAndAll(_ backend: TestBackend) throws {
        let catalog = try backend.catalog()
        let r1 = Fixture.asset(createdMillis: 1)
        let p1 = Fixture.asset(createdMillis: 2, status: .processing)
        let f1 = Fixture.asset(project: "other", createdMillis: 3, status: .failed, error: "x")
        let r2 = Fixture.asset(project: "other", createdMillis: 4)
        try catalog.insertBatch([r2, f1, p1, r1])
        #expect(try catalog.assets(status: .ready) == [r1, r2])
        #expect(try catalog.assets(status: .processing) == [p1])
        #expect(try catalog.assets(status: .failed) == [f1])
        #expect(try catalog.allAssets() == [r1, p1, f1, r2])
    }

    @Test(arguments: TestBackend.all) func uploadBytesCountsNonFailedAssetsOfTheProject(_ backend: TestBackend) throws {
        let catalog = try backend.catalog()
        #expect(try catalog.uploadBytes(project: Fixture.demo) == 0)
        try catalog.insertBatch([
            Fixture.asset(size: 100), Fixture.asset(size: 20, status: .processing),
            Fixture.asset(size: 5_000, status: .failed, error: "x"), Fixture.asset(project: "other", size: 7),
        ])
        #expect(try catalog.uploadBytes(project: Fixture.demo) == 120)
        #expect(try catalog.uploadBytes(project: Fixture.other) == 7)
    }

    @Test(arguments: TestBackend.all) func insertBatchIsAllOrNothing(_ backend: TestBackend) throws {
        let catalog = try backend.catalog()
        let a = Fixture.asset()
        var clash = Fixture.asset()
        clash.id = a.id
        #expect(throwsStorageError(.conflict, { try catalog.insertBatch([a, Fixture.asset(), clash]) }))
        #expect(try catalog.allAssets().isEmpty)
    }

    @Test(arguments: TestBackend.all) func corruptColumnsAreReportedNotCrashed(_ backend: TestBackend) throws {
        let catalog = try backend.catalog()
        let a = Fixture.asset()
        try catalog.insert(a)
        try catalog.execute("UPDATE assets SET status = 'weird'")
        #expect(
            throwsStorageError(.invalidArgument, { _ = try catalog.asset(id: a.id) }) { $0.message.contains("weird") }
        )
        try catalog.execute("UPDATE assets SET status = 'ready', metadata = '{nope'")
        #expect(
            throwsStorageError(.invalidArgument, { _ = try catalog.asset(id: a.id) }) { $0.message.contains("{nope") }
        )
    }
}
