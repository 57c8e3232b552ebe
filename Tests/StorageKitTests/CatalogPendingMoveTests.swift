import Foundation
import Testing

@testable import StorageKit

struct CatalogPendingMoveTests {
    static func move(_ n: Int) -> PendingMove {
        PendingMove(
            assetID: "asset-\(n)",
            projectID: "demo",
            sourcePath: "/srv/drop/demo/clip \(n).mp4",
            stagingPath: "/srv/storage/.staging/\(n).tmp",
            stage: .staged,
            createdAt: ISO8601Millis.date(milliseconds: Fixture.baseMillis + Int64(n))
        )
    }

    @Test(arguments: TestBackend.all) func addAssignsIdsAndListsOldestFirst(_ backend: TestBackend) throws {
        let catalog = try backend.catalog()
        let a = try catalog.addPendingMove(Self.move(1))
        let b = try catalog.addPendingMove(Self.move(2))
        #expect(a.id == 1 && b.id == 2)
        var expectedA = Self.move(1)
        expectedA.id = 1
        #expect(a == expectedA)
        #expect(try catalog.pendingMoves() == [a, b])
    }

    /// A stage this version does not know (a newer one wrote it) reads as `staged`: recovery returns the file
    /// to the drop, which never loses it.
    @Test func anUnknownStageReadsAsStaged() throws {
        let catalog = try Catalog.inMemory()
        _ = try catalog.addPendingMove(Self.move(1))
        try catalog.execute("UPDATE pending_moves SET stage = 'checked-by-a-newer-version'")
        #expect(try catalog.pendingMoves().map(\.stage) == [.staged])
        #expect(
            PendingMove.Stage.allCases.map(\.rawValue) == ["staged", "copying", "placing", "placed-copy", "upload"]
        )
    }

    @Test(arguments: TestBackend.all) func updateAndRemove(_ backend: TestBackend) throws {
        let catalog = try backend.catalog()
        var a = try catalog.addPendingMove(Self.move(1))
        let b = try catalog.addPendingMove(Self.move(2))
        a.stage = .placing
        a.targetRelativePath = "uploads/project_demo/clip_1-0123456789.mp4"
        try catalog.updatePendingMove(a)
        #expect(try catalog.pendingMoves() == [a, b])
        try catalog.removePendingMove(id: a.id)
        #expect(try catalog.pendingMoves() == [b])
    }

    @Test(arguments: TestBackend.all) func unknownIdsAreNotFound(_ backend: TestBackend) throws {
        let catalog = try backend.catalog()
        var ghost = Self.move(9)
        ghost.id = 77
        #expect(throwsStorageError(.notFound, { try catalog.updatePendingMove(ghost) }) { $0.message.contains("77") })
        #expect(throwsStorageError(.notFound, { try catalog.removePendingMove(id: 78) }) { $0.message.contains("78") })
    }

    @Test func jsonKeysAreSnakeCase() throws {
        var m = Self.move(3)
        m.targetRelativePath = "uploads/project_demo/x.mp4"
        let data = try JSONEncoder().encode(m)
        let keys = Set(try (JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]).keys)
        #expect(
            keys == [
                "id", "asset_id", "project_id", "source_path", "staging_path", "target_relative_path", "stage",
                "created_at",
            ]
        )
        #expect(try JSONDecoder().decode(PendingMove.self, from: data) == m)
    }
}
