import Foundation
import Testing

@testable import StorageKit

/// Two recorders of derived files (a sprite sheet, a rendition) finishing the same asset within milliseconds,
/// on two nodes: each reads the record, changes its own field and writes the record back in one transaction.
/// The seam holds the first transaction between its read and its write until the second has read (or for at
/// most two seconds, when the second cannot read yet because the row is locked), which is the interleaving that
/// lost one of the two changes.
@Suite(.timeLimit(.minutes(1)))
struct DerivedRecordRaceTests {
    static let sheet = SpriteSheet(
        imagePath: "processed/project_demo/x/sprite.jpg",
        vttPath: "processed/project_demo/x/sprite.vtt",
        intervalSeconds: 1,
        count: 4,
        columns: 2,
        tileWidth: 160,
        tileHeight: 90
    )
    static let rendition = Rendition(
        name: "90p",
        relativePath: "processed/project_demo/x/90p.mp4",
        width: 160,
        height: 90,
        videoCodec: "h264",
        audioCodec: nil,
        sizeBytes: 1000
    )

    /// What `RenditionService` does when a sprite or rendition is ready: read, change, write, in one transaction.
    static func record(
        on catalog: Catalog,
        _ id: String,
        afterRead: () -> Void,
        change: (inout Asset) -> Void
    ) throws {
        try catalog.write { tx in
            guard var current = try tx.asset(id: id) else { return }
            afterRead()
            change(&current)
            current.updatedAt = ISO8601Millis.now()
            try tx.update(current)
        }
    }

    static func race(_ first: Catalog, _ second: Catalog) throws -> Asset? {
        let asset = Fixture.asset()
        try first.insert(asset)
        let firstRead = DispatchSemaphore(value: 0)
        let secondRead = DispatchSemaphore(value: 0)
        let done = DispatchGroup()
        done.enter()
        Thread.detachNewThread {
            defer { done.leave() }
            try? Self.record(
                on: first,
                asset.id,
                afterRead: {
                    firstRead.signal()
                    _ = secondRead.wait(timeout: .now() + 2)
                },
                change: { $0.sprite = Self.sheet }
            )
        }
        firstRead.wait()
        try Self.record(on: second, asset.id, afterRead: { secondRead.signal() }) {
            $0.renditions.removeAll { $0.name == Self.rendition.name }
            $0.renditions.append(Self.rendition)
        }
        done.wait()
        return try first.asset(id: asset.id)
    }

    @Test(.enabled(if: PostgresTestServer.url != nil, "INGESTD_TEST_POSTGRES_URL is not set"))
    func twoNodesFinishingOneAssetAtOnceKeepBothOnPostgres() throws {
        let (a, b) = try CatalogSharedTests.twoNodes()
        let stored = try Self.race(a, b)
        #expect(stored?.sprite == Self.sheet, "the sprite was lost")
        #expect(stored?.renditions == [Self.rendition], "the rendition was lost")
    }

    @Test func twoRecordersOnOneSQLiteCatalogKeepBoth() throws {
        let catalog = try Catalog.inMemory()
        let stored = try Self.race(catalog, catalog)
        #expect(stored?.sprite == Self.sheet)
        #expect(stored?.renditions == [Self.rendition])
    }
}
