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
    /// A bench whose catalog can be lost, a clip in its drop, and an ingestor with `hooks` on that catalog.
    struct Setup {
        let bench: IngestorTests.Bench
        let backend: LosableBackend
        let catalog: Catalog
        let source: String
        let bytes: [UInt8]

        init() async throws {
            bench = try IngestorTests.Bench()
            backend = LosableBackend(bench.catalog.backend)
            catalog = Catalog(backend: backend, nodeID: bench.catalog.nodeID)
            source = try bench.put(try await bench.clips.h264VideoOnly(), at: "demo/a.mp4")
            bytes = try Checksums.bytes(source)
        }

        /// Ingests the clip; records an issue unless it ended as `expected` (by default: failed).
        func ingest(hooks: IngestHooks = IngestHooks(), expecting expected: String = "failed") {
            let ingestor = Ingestor(
                layout: bench.layout,
                catalog: catalog,
                logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() },
                hooks: hooks
            )
            let outcome = ingestor.ingestDropped(
                source: RawPath(source),
                project: ProjectID(exactly: "demo"),
                policy: IngestPolicy(bench.config)
            )
            switch (outcome, expected) {
            case (.failed, "failed"), (.waitingForCatalog, "waitingForCatalog"): return
            default: Issue.record("expected .\(expected), got \(outcome)")
            }
        }
    }

    @Test func aFileStagedWhenTheCatalogIsLostGoesBackToTheDropOnceItReturns() async throws {
        let s = try await Setup()
        defer { s.bench.remove() }
        var hooks = IngestHooks()
        hooks.afterStaging = { [backend = s.backend] _ in
            // The server goes away now, for the failing step and the next two looks at the journal.
            backend.lostCalls.withLock { $0 = 2 }
            throw StorageError(code: .catalogUnavailable, message: "catalog test: write: server lost")
        }
        s.ingest(hooks: hooks)
        #expect(s.backend.lostCalls.withLock { $0 } == 0)
        #expect(try Checksums.bytes(s.source) == s.bytes)
        #expect(s.bench.staging.isEmpty)
        #expect(try s.catalog.pendingMoves().isEmpty)
        #expect(try s.catalog.allAssets().isEmpty)
    }

    /// Lost before anything was journalled: the file never left the drop, so the ingest ends at once as
    /// "waiting for the catalog" — not a failure of the file, no back-off — instead of waiting for the server.
    @Test func aCatalogLostBeforeTheJournalEntryWaitsInTheDrop() async throws {
        let s = try await Setup()
        defer { s.bench.remove() }
        s.backend.lostCalls.withLock { $0 = 1_000 }
        let start = ContinuousClock.now
        s.ingest(expecting: "waitingForCatalog")
        #expect(ContinuousClock.now - start < .seconds(1))
        #expect(try Checksums.bytes(s.source) == s.bytes)
        #expect(s.bench.staging.isEmpty)
    }
}
