import Foundation
import IngestConfig
import Logging
import Synchronization
import Testing

@testable import StorageKit

#if canImport(Glibc)
import Glibc
#endif

/// Several nodes on one `STORAGE_PATH` and one PostgreSQL catalog: a node's start-up recovers only what is its
/// own, never a file another node has in flight at that moment. The other node is paused by its hooks at the
/// chosen instant and the starting node's recovery runs right there, so the interleaving is forced, not timed.
@Suite(
    .timeLimit(.minutes(3)),
    .enabled(if: PostgresTestServer.url != nil, "INGESTD_TEST_POSTGRES_URL is not set")
)
struct SharedStagingTests {
    /// Two nodes' catalogs on one fresh database, one storage folder and a drop folder each.
    struct Nodes {
        let dir: TempDir
        let layout: StorageLayout
        let a: Catalog
        let b: Catalog
        let clips: ClipFactory
        var dropA: String { dir.path + "/drop-a" }
        var dropB: String { dir.path + "/drop-b" }

        init() throws {
            dir = try TempDir("nodes")
            layout = StorageLayout(root: dir.path + "/storage")
            try layout.createCategoryFolders()
            let url = try PostgresTestServer.freshDatabase()
            a = try Catalog.open(url: url, layout: layout, nodeID: "node-a", poolSize: 4)
            b = try Catalog.open(url: url, layout: layout, nodeID: "node-b", poolSize: 4)
            clips = try ClipFactory()
            for drop in [dropA, dropB] {
                try FileManager.default.createDirectory(atPath: drop, withIntermediateDirectories: true)
            }
        }

        static let quiet = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }

        func ingestor(_ catalog: Catalog, hooks: IngestHooks = IngestHooks()) -> Ingestor {
            Ingestor(layout: layout, catalog: catalog, logger: Self.quiet, hooks: hooks)
        }

        /// Every non-directory entry below `root`, relative to it.
        func entries(below root: String) -> [String] {
            (FileManager.default.subpaths(atPath: root) ?? []).filter {
                (try? FileOps.lstat(root + "/" + $0))??.kind != .directory
            }.sorted()
        }

        func remove() {
            a.close()
            b.close()
            dir.remove()
            clips.remove()
        }
    }

    /// Node B ingests `clip` from its drop; at `point` node A starts (its recovery runs). Returns B's outcome
    /// and A's recovery summary.
    static func ingestOnB(
        _ n: Nodes,
        recoveringAAt point: (inout IngestHooks, @escaping @Sendable () -> Void) -> Void
    ) async throws -> (IngestOutcome, RecoverySummary?) {
        let source = try writeFile(n.dropB + "/demo/lesson.mp4", try Checksums.bytes(try await n.clips.h264WithAudio()))
        let recoveredA = Mutex<RecoverySummary?>(nil)
        let nodeA = n.ingestor(n.a)
        var hooks = IngestHooks()
        point(&hooks) {
            guard recoveredA.withLock({ $0 == nil }) else { return }
            let summary = try? nodeA.recover(dropRoot: RawPath(n.dropA))
            recoveredA.withLock { $0 = summary ?? RecoverySummary() }
        }
        let outcome = n.ingestor(n.b, hooks: hooks).ingestDropped(
            source: RawPath(source),
            project: ProjectID(exactly: "demo"),
            policy: IngestPolicy(IngestConfiguration())
        )
        return (outcome, recoveredA.withLock { $0 })
    }

    /// The audit's case (a): node A restarted while node B was hashing a dropped file in `.staging`.
    @Test func aStartingNodeLeavesAFileAnotherNodeHasStagedAlone() async throws {
        let n = try Nodes()
        defer { n.remove() }
        let (outcome, summary) = try await Self.ingestOnB(n) { hooks, recoverA in
            hooks.afterStaging = { _ in recoverA() }
        }
        #expect(summary?.returnedToDrop == 0)
        #expect(n.entries(below: n.dropA).isEmpty, "node A took node B's file into its drop")
        let asset = try IngestorTests.stored(outcome)
        #expect(asset.projectID == "demo")
        #expect(asset.originalFilename == "lesson.mp4")
        #expect(try n.a.allAssets().map(\.originalFilename) == ["lesson.mp4"])
        #expect(n.entries(below: n.layout.stagingPath).isEmpty)
    }

    /// Node B's record is committed `processing` and the rename into `uploads/` is next: node A's start-up must
    /// neither remove that record nor touch the file.
    @Test func aStartingNodeLeavesAnotherNodesProcessingRecordAlone() async throws {
        let n = try Nodes()
        defer { n.remove() }
        let (outcome, summary) = try await Self.ingestOnB(n) { hooks, recoverA in
            hooks.afterRecord = { _ in recoverA() }
        }
        #expect(summary?.recordsRemoved == 0)
        #expect(summary?.returnedToDrop == 0)
        let asset = try IngestorTests.stored(outcome)
        #expect(try n.b.asset(id: asset.id)?.status == .ready)
        #expect(n.entries(below: n.dropA).isEmpty)
        #expect(n.entries(below: n.layout.stagingPath).isEmpty)
    }

    /// The audit's case (b): an upload streaming into node B's staging while node A starts. Files a previous
    /// version left in the `.staging` root (no journal entry of any node) are taken only once nobody wrote them
    /// for a while: a node of that version may still be receiving them.
    @Test func aStartingNodeLeavesAnUploadStreamingIntoAnotherNodeAlone() throws {
        let n = try Nodes()
        defer { n.remove() }
        let streaming = [
            n.layout.stagingPath + "/node-node-b/.upload-1.tmp",
            n.layout.stagingPath + "/.upload-2.tmp",
        ]
        for path in streaming { _ = try writeFile(path, patternBytes(1000)) }
        let summary = try n.ingestor(n.a).recover(dropRoot: RawPath(n.dropA))
        #expect(summary.abandonedUploads == 0)
        for path in streaming { #expect(FileManager.default.fileExists(atPath: path), "\(path) was removed") }
    }

    /// Partial rendition files: a node's start-up removes its own (its earlier process died writing them), never
    /// another node's.
    @Test func aStartingNodeRemovesItsOwnPartialRenditionsOnly() throws {
        let n = try Nodes()
        defer { n.remove() }
        let folder = n.layout.categoryPath(.processed) + "/project_k1/clip-0123456789"
        let own = folder + "/" + FileOps.temporaryName(for: folder + "/360p.mp4", owner: "node-a")
        let others = folder + "/" + FileOps.temporaryName(for: folder + "/720p.mp4", owner: "node-b")
        _ = try writeFile(own, patternBytes(100))
        _ = try writeFile(others, patternBytes(100))
        _ = try n.ingestor(n.a).recover(dropRoot: RawPath(n.dropA))
        #expect(!FileManager.default.fileExists(atPath: own), "node A's own leftover stays")
        #expect(FileManager.default.fileExists(atPath: others), "node B's file in progress went")
    }

    /// A node that stopped running for good (its lock is free) left a staged drop with its journal entry, an
    /// upload's partial file and a partial rendition: another node takes them over, once, the drop going into
    /// its own drop under the file's project and name. A node that runs is never taken over.
    @Test func aNodeThatStoppedRunningIsTakenOverOnce() throws {
        let n = try Nodes()
        defer { n.remove() }
        let staging = n.layout.nodeStagingPath("node-b")
        let staged = try writeFile(staging + "/0f0e.mp4", patternBytes(100))
        _ = try writeFile(staging + "/.upload-1.tmp", patternBytes(10))
        let folder = n.layout.categoryPath(.processed) + "/project_k1/clip-0123456789"
        let partial = try writeFile(
            folder + "/" + FileOps.temporaryName(for: folder + "/360p.mp4", owner: "node-b"),
            patternBytes(10)
        )
        _ = try n.b.addPendingMove(
            PendingMove(
                assetID: "0f0e",
                projectID: "demo",
                sourcePath: PathCoding.encode(RawPath(n.dropB + "/demo/sub/lesson.mp4")),
                stagingPath: staged,
                stage: .staged
            )
        )
        let nodeA = n.ingestor(n.a)
        do {
            let running = try StorageLock.acquire(.node("node-b"), in: n.layout, holder: "node-b itself")
            #expect(try nodeA.takeOver(node: "node-b", dropRoot: RawPath(n.dropA)) == nil)
            #expect(FileManager.default.fileExists(atPath: staged))
            withExtendedLifetime(running) {}
        }
        let summary = try #require(try nodeA.takeOver(node: "node-b", dropRoot: RawPath(n.dropA)))
        #expect(summary.returnedToDrop == 1)
        #expect(summary.abandonedUploads == 1)
        #expect(summary.temporaryFilesRemoved == 1)
        #expect(try Checksums.bytes(n.dropA + "/demo/lesson.mp4") == patternBytes(100))
        #expect(!FileManager.default.fileExists(atPath: partial))
        #expect(n.entries(below: n.layout.stagingPath).isEmpty)
        #expect(try n.b.pendingMoves().isEmpty)
        // Taken once: nothing is left for a second take-over, nor for node B when it starts again.
        #expect(try nodeA.takeOver(node: "node-b", dropRoot: RawPath(n.dropA)) == RecoverySummary())
        let restarted = try StorageLock.acquire(.node("node-b"), in: n.layout, holder: "node-b again")
        #expect(try n.ingestor(n.b).recover(dropRoot: RawPath(n.dropB)) == RecoverySummary())
        withExtendedLifetime(restarted) {}
        #expect(n.entries(below: n.dropA) == ["demo/lesson.mp4"])
    }

    /// A file a stopped node was copying in from its drop on another filesystem (another host) is left whole for
    /// that node: its source is there, and the same path on this host is another file (review: a take-over
    /// removed this host's file at that path, or returned a partial copy that was then ingested beside the
    /// source).
    @Test func aTakeOverLeavesFilesCopiedFromTheStoppedNodesDropToIt() throws {
        let n = try Nodes()
        defer { n.remove() }
        let staging = n.layout.nodeStagingPath("node-b")
        // On this host, the same path as node B's source holds this host's own user's file.
        let samePath = n.dropB + "/demo/lesson.mp4"
        _ = try writeFile(samePath, patternBytes(77))
        var staged: [String] = []
        for (index, stage) in [PendingMove.Stage.copying, .placedCopy].enumerated() {
            let path = try writeFile(staging + "/copy-\(index).mp4", patternBytes(50))
            staged.append(path)
            _ = try n.b.addPendingMove(
                PendingMove(
                    assetID: "copy-\(index)",
                    projectID: "demo",
                    sourcePath: PathCoding.encode(RawPath(samePath)),
                    stagingPath: path,
                    stage: stage
                )
            )
        }
        // Node B ran here (its lock file exists) and stopped.
        withExtendedLifetime(try StorageLock.acquire(.node("node-b"), in: n.layout, holder: "node-b")) {}
        let summary = try #require(try n.ingestor(n.a).takeOver(node: "node-b", dropRoot: RawPath(n.dropA)))
        #expect(summary.leftForTheirNode == 2)
        #expect(summary.returnedToDrop == 0)
        #expect(try Checksums.bytes(samePath) == patternBytes(77))
        for path in staged { #expect(FileManager.default.fileExists(atPath: path)) }
        #expect(try n.b.pendingMoves().count == 2)
        #expect(n.entries(below: n.dropA).isEmpty)
    }

    /// A node never takes over itself, nor a node that never ran this version here (no lock file).
    @Test func noTakeOverOfItselfOrOfANodeWithoutALockFile() throws {
        let n = try Nodes()
        defer { n.remove() }
        #expect(try n.ingestor(n.a).takeOver(node: "node-a", dropRoot: nil) == nil)
        #expect(try n.ingestor(n.a).takeOver(node: "node-c", dropRoot: nil) == nil)
    }
}
