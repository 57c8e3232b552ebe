import Testing

@testable import StorageKit

struct CatalogTransactionTests {
    struct Boom: Error {}

    @Test(arguments: TestBackend.all) func everythingInOneTransactionCommitsTogether(_ backend: TestBackend) throws {
        let catalog = try backend.catalog()
        let a = Fixture.asset(status: .processing)
        let moveID = try catalog.write { tx -> Int64 in
            let move = try tx.addPendingMove(CatalogPendingMoveTests.move(1))
            try tx.insert(a)
            var ready = a
            ready.status = .ready
            try tx.update(ready)
            #expect(try tx.asset(id: a.id)?.status == .ready)
            #expect(try tx.existing(project: Fixture.demo, checksum: a.checksum)?.id == a.id)
            try tx.appendEvent(IngestEvent(type: .ingested, projectID: "demo", assetID: a.id))
            return move.id
        }
        #expect(try catalog.asset(id: a.id)?.status == .ready)
        #expect(try catalog.lastEventID() == 1)
        try catalog.write { tx in
            try tx.removePendingMove(id: moveID)
            #expect(try tx.delete(id: a.id) != nil)
        }
        #expect(try catalog.pendingMoves().isEmpty)
        #expect(try catalog.allAssets().isEmpty)
    }

    @Test(arguments: TestBackend.all) func aThrowRollsEverythingBack(_ backend: TestBackend) throws {
        let catalog = try backend.catalog()
        let kept = Fixture.asset()
        try catalog.insert(kept)
        #expect(throws: Boom.self) {
            try catalog.write { tx in
                try tx.insert(Fixture.asset())
                try tx.appendEvent(IngestEvent(type: .ingested, projectID: "demo"))
                try tx.addPendingMove(CatalogPendingMoveTests.move(1))
                _ = try tx.delete(id: kept.id)
                throw Boom()
            }
        }
        #expect(try catalog.allAssets() == [kept])
        #expect(try catalog.lastEventID() == 0)
        #expect(try catalog.pendingMoves().isEmpty)
        // The rolled-back event id is handed out again: ids stay consecutive.
        #expect(try catalog.appendEvent(IngestEvent(type: .ingested, projectID: "demo")).id == 1)
    }

    @Test(arguments: TestBackend.all) func aStorageErrorInsideRollsBackAndSurfacesUnchanged(
        _ backend: TestBackend
    ) throws {
        let catalog = try backend.catalog()
        let a = Fixture.asset()
        try catalog.insert(a)
        #expect(
            throwsStorageError(.conflict) {
                try catalog.write { tx in
                    try tx.insert(Fixture.asset())
                    try tx.insert(a)
                }
            }
        )
        #expect(
            throwsStorageError(.notFound) {
                try catalog.write { tx in
                    try tx.appendEvent(IngestEvent(type: .deleted, projectID: "demo"))
                    try tx.updatePendingMove(CatalogPendingMoveTests.move(5))
                }
            }
        )
        #expect(try catalog.allAssets() == [a])
        #expect(try catalog.lastEventID() == 0)
    }
}
