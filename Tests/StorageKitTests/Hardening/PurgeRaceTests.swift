import Foundation
import Logging
import Testing

@testable import StorageKit

/// Issue 13: a project purged while a file of that project is being ingested (on this node or another) ends
/// consistent: the file that arrived during the purge is stored with its record, the purged ones are gone, and
/// no record lacks its file nor any file its record.
@Suite(.timeLimit(.minutes(3)))
struct PurgeRaceTests {
    /// Ingests a clip into project `demo` of a bench that already holds one stored clip, with a purge of `demo`
    /// run by `hooks` at the chosen instant; returns the bench and the outcome.
    static func ingest(
        purgingAt point: WritableKeyPath<IngestHooks, @Sendable (Asset) -> Void>
    ) async throws -> (
        IngestorTests.Bench, IngestOutcome, PurgeSummary?
    ) {
        let b = try IngestorTests.Bench()
        let old = try b.put(try await b.clips.h264VideoOnly(), at: "demo/old.mp4")
        _ = try IngestorTests.stored(b.ingest(old, project: "demo"))
        let purged = LockedBox<PurgeSummary?>(nil)
        var hooks = IngestHooks()
        hooks[keyPath: point] = { [layout = b.layout, catalog = b.catalog] _ in
            guard purged.value == nil else { return }  // once
            purged.value = try? ProjectPurge.purge(
                project: ProjectID(exactly: "demo")!,
                layout: layout,
                catalog: catalog
            )
        }
        let ingestor = Ingestor(
            layout: b.layout,
            catalog: b.catalog,
            logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() },
            hooks: hooks
        )
        let source = try b.put(try await b.clips.h264WithAudio(), at: "demo/new.mp4")
        let outcome = ingestor.ingestDropped(
            source: RawPath(source),
            project: ProjectID(exactly: "demo"),
            policy: IngestPolicy(b.config)
        )
        return (b, outcome, purged.value)
    }

    /// Every record's file exists, every stored file has its record, and only `new.mp4` is left.
    static func expectConsistent(_ b: IngestorTests.Bench, _ outcome: IngestOutcome, _ purge: PurgeSummary?) throws {
        #expect(purge != nil, "the purge ran")
        let asset = try IngestorTests.stored(outcome)
        let records = try b.catalog.allAssets()
        #expect(records.map(\.originalFilename) == ["new.mp4"])
        #expect(records.first?.status == .ready)
        #expect(b.uploads() == [asset.filename])
        #expect(b.staging.isEmpty)
        #expect(b.dropEntries.isEmpty)
        #expect(try b.catalog.pendingMoves().isEmpty)
    }

    @Test func aPurgeBetweenTheRecordAndTheRenameKeepsTheArrivingFile() async throws {
        let (b, outcome, purge) = try await Self.ingest(purgingAt: \.afterRecord)
        defer { b.remove() }
        try Self.expectConsistent(b, outcome, purge)
    }

    @Test func aPurgeBetweenTheRenameAndReadyKeepsTheArrivingFile() async throws {
        let (b, outcome, purge) = try await Self.ingest(purgingAt: \.afterPlacement)
        defer { b.remove() }
        try Self.expectConsistent(b, outcome, purge)
        #expect(purge?.filesRemoved == 1, "only the clip stored before the purge")
    }
}

/// A value shared with a `@Sendable` hook.
final class LockedBox<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value
    init(_ value: Value) { stored = value }
    var value: Value {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
    }
}
