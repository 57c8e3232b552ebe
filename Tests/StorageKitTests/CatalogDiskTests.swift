import Foundation
import GRDB
import Testing

@testable import StorageKit

struct CatalogDiskTests {
    @Test func openCreatesTheMetadataFolderInWALModeAndReopens() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let layout = StorageLayout(root: dir.path + "/storage")
        let a = Fixture.asset(metadata: Fixture.fullMetadata)
        do {
            let catalog = try Catalog.open(layout: layout)
            #expect(catalog.location == layout.catalogPath)
            #expect(try catalog.pragma("journal_mode") == "wal")
            #expect(try Int(catalog.pragma("busy_timeout") ?? "") ?? 0 > 0)
            try catalog.insert(a)
        }
        #expect(FileManager.default.fileExists(atPath: dir.path + "/storage/metadata/catalog.sqlite"))
        // Opening again runs no migration twice and keeps the data.
        let again = try Catalog.open(layout: layout)
        #expect(try again.asset(id: a.id) == a)
    }

    /// Issue 10, scenario 11: a journal row must be on disk before the rename it describes. In WAL mode GRDB
    /// sets `synchronous = NORMAL`, which makes a commit durable only at the next checkpoint: a power cut
    /// could then lose a journal row whose rename had already happened. Durable writes (the journal, the
    /// record that a placement follows) flush the WAL before they return, after the writer is free again;
    /// the others do not flush, and the writer stays at `NORMAL` (1) throughout.
    @Test func journalCommitsAreDurableBeforeTheyReturn() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let catalog = try Catalog.open(layout: StorageLayout(root: dir.path + "/storage"))
        #expect(try catalog.pragma("synchronous") == "1")
        #expect(catalog.walFlushes == 0)
        try catalog.write { tx in try tx.insert(Fixture.asset()) }
        #expect(catalog.walFlushes == 0)
        try catalog.write(durable: true) { tx in try tx.insert(Fixture.asset()) }
        #expect(catalog.walFlushes == 1)
        // The WAL cut back to nothing by a checkpoint is flushed as well (its descriptor still names it).
        try #require(catalog.sqliteWriter).writeWithoutTransaction {
            try $0.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)")
        }
        #expect((try FileManager.default.attributesOfItem(atPath: catalog.location + "-wal")[.size] as? Int) == 0)
        try catalog.write(durable: true) { tx in try tx.insert(Fixture.asset()) }
        #expect(catalog.walFlushes == 2)
        #expect(try catalog.pragma("synchronous") == "1")
        let move = try catalog.addPendingMove(
            PendingMove(
                assetID: "a",
                projectID: "p",
                sourcePath: "/drop/p/a.mp4",
                stagingPath: "/s/a.mp4",
                stage: .staged
            )
        )
        #expect(try catalog.pendingMoves() == [move])
        #expect(catalog.walFlushes == 3)
    }

    @Test func aFileThatIsNotSQLiteIsNamedInTheError() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let layout = StorageLayout(root: dir.path)
        try dir.file("metadata/catalog.sqlite", size: 4096, byte: 0x7A)
        #expect(
            throwsStorageError(.catalog, { _ = try Catalog.open(layout: layout) }) {
                $0.message.contains(layout.catalogPath) && $0.message.contains("not an SQLite database")
            }
        )
        // The file was not replaced or truncated.
        let size = try FileManager.default.attributesOfItem(atPath: layout.catalogPath)[.size] as? Int
        #expect(size == 4096)
    }

    @Test func aShortTextFileIsNotSQLiteEither() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let layout = StorageLayout(root: dir.path)
        try dir.folder("metadata")
        try "hello\n".write(toFile: layout.catalogPath, atomically: false, encoding: .utf8)
        #expect(
            throwsStorageError(.catalog, { _ = try Catalog.open(layout: layout) }) {
                $0.message.contains(layout.catalogPath)
            }
        )
    }

    @Test func aMetadataFolderThatCannotBeMadeIsNamed() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        // A regular file where a folder must be: ENOTDIR even for root.
        try dir.file("blocker", size: 1)
        let layout = StorageLayout(root: dir.path + "/blocker/storage")
        #expect(
            throwsStorageError(.io, { _ = try Catalog.open(layout: layout) }) {
                $0.errno == ENOTDIR && $0.message.contains(dir.path + "/blocker")
            }
        )
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/blocker/storage"))
    }

    @Test func aFolderWhereTheCatalogFileShouldBeIsACatalogError() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let layout = StorageLayout(root: dir.path)
        try dir.folder("metadata/catalog.sqlite")
        #expect(
            throwsStorageError(.catalog, { _ = try Catalog.open(layout: layout) }) {
                $0.message.contains(layout.catalogPath)
            }
        )
    }

    @Test(.timeLimit(.minutes(3))) func readersListWhileOneWriterCommits() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let catalog = try Catalog.open(layout: StorageLayout(root: dir.path))
        let batches = 40
        let perBatch = 50
        try await withThrowingTaskGroup(of: Int.self) { group in
            group.addTask {
                for b in 0..<batches {
                    let assets = (0..<perBatch).map { i in
                        Fixture.asset(createdMillis: Fixture.baseMillis + Int64(b * perBatch + i))
                    }
                    try catalog.insertBatch(assets)
                }
                return batches * perBatch
            }
            for _ in 0..<3 {
                group.addTask {
                    var lastCount = 0
                    var reads = 0
                    while lastCount < batches * perBatch {
                        let page = try catalog.list(project: Fixture.demo, limit: nil, after: nil)
                        // A reader sees whole batches only, in order, and never fewer than before.
                        if page.count % perBatch != 0 || page.count < lastCount { return -1 }
                        if zip(page, page.dropFirst()).contains(where: { $0.createdAt >= $1.createdAt }) { return -2 }
                        lastCount = page.count
                        reads += 1
                    }
                    return reads
                }
            }
            var results: [Int] = []
            for try await r in group { results.append(r) }
            #expect(results.allSatisfy { $0 > 0 }, "\(results)")
        }
        #expect(try catalog.list(project: Fixture.demo, limit: nil, after: nil).count == batches * perBatch)
    }
}
