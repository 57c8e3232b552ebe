import Foundation
import Logging
import Synchronization
import Testing

@testable import StorageKit

/// A catalog that is lost for its next few calls, as a PostgreSQL server stopped in the middle of an ingest.
final class LosableBackend: CatalogBackend {
    let inner: any CatalogBackend
    /// Calls still to fail as `catalogUnavailable`.
    let lostCalls = Mutex(0)

    init(_ inner: any CatalogBackend) { self.inner = inner }

    private func check(_ operation: String) throws {
        let lost = lostCalls.withLock { count -> Bool in
            guard count > 0 else { return false }
            count -= 1
            return true
        }
        if lost { throw StorageError(code: .catalogUnavailable, message: "catalog test: \(operation): server lost") }
    }

    var location: String { inner.location }
    func write<T>(_ operation: String, nodeID: String, _ body: (any CatalogConnection) throws -> T) throws -> T {
        try check(operation)
        return try inner.write(operation, nodeID: nodeID, body)
    }
    func read<T>(_ operation: String, nodeID: String, _ body: (any CatalogConnection) throws -> T) throws -> T {
        try check(operation)
        return try inner.read(operation, nodeID: nodeID, body)
    }
    func watchEvents(_ wake: @escaping @Sendable () -> Void) -> (any CatalogEventWatch)? { nil }
    var unavailableReason: String? { nil }
    func exclusively<T>(_ key: Int64, busy: String, _ body: () throws -> T) throws -> T { try body() }
    func close() {}
    var isClosed: Bool { false }
}

/// A catalog lost in the middle of an ingest: the journal says where the file is, so the failed ingest waits
/// for the catalog and then settles its entry — it never leaves the file in `.staging/` while the daemon runs.
@Suite(.timeLimit(.minutes(3)))
struct LostCatalogTests {
    @Test func aFileStagedWhenTheCatalogIsLostGoesBackToTheDropOnceItReturns() throws {
        let b = try IngestorTests.Bench()
        defer { b.remove() }
        let backend = LosableBackend(b.catalog.backend)
        let catalog = Catalog(backend: backend, nodeID: b.catalog.nodeID)
        let source = try b.put(try b.clips.h264VideoOnly(), at: "demo/a.mp4")
        let bytes = try Checksums.bytes(source)
        var hooks = IngestHooks()
        hooks.afterStaging = { _ in
            // The server goes away now, for the failing step and the next two looks at the journal.
            backend.lostCalls.withLock { $0 = 2 }
            throw StorageError(code: .catalogUnavailable, message: "catalog test: write: server lost")
        }
        let ingestor = Ingestor(
            layout: b.layout,
            catalog: catalog,
            logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() },
            hooks: hooks
        )
        let outcome = ingestor.ingestDropped(
            source: RawPath(source),
            project: ProjectID(exactly: "demo"),
            config: b.config
        )
        guard case .failed = outcome else {
            Issue.record("expected .failed, got \(outcome)")
            return
        }
        #expect(backend.lostCalls.withLock { $0 } == 0)
        #expect(try Checksums.bytes(source) == bytes)
        #expect(b.staging.isEmpty)
        #expect(try catalog.pendingMoves().isEmpty)
        #expect(try catalog.allAssets().isEmpty)
    }

    /// Lost before anything was journalled: the file never left the drop, so the ingest fails at once (it is
    /// tried again later) instead of waiting for the server.
    @Test func aCatalogLostBeforeTheJournalEntryFailsAtOnceAndLeavesTheFile() throws {
        let b = try IngestorTests.Bench()
        defer { b.remove() }
        let backend = LosableBackend(b.catalog.backend)
        backend.lostCalls.withLock { $0 = 1_000 }
        let catalog = Catalog(backend: backend, nodeID: b.catalog.nodeID)
        let source = try b.put(try b.clips.h264VideoOnly(), at: "demo/a.mp4")
        let bytes = try Checksums.bytes(source)
        let ingestor = Ingestor(
            layout: b.layout,
            catalog: catalog,
            logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
        )
        let start = ContinuousClock.now
        let outcome = ingestor.ingestDropped(
            source: RawPath(source),
            project: ProjectID(exactly: "demo"),
            config: b.config
        )
        guard case .failed = outcome else {
            Issue.record("expected .failed, got \(outcome)")
            return
        }
        #expect(ContinuousClock.now - start < .seconds(1))
        #expect(try Checksums.bytes(source) == bytes)
        #expect(b.staging.isEmpty)
    }
}
