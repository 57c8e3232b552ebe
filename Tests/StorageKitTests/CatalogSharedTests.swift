import Foundation
import IngestConfig
import Synchronization
import Testing

@testable import StorageKit

/// Several nodes on one PostgreSQL catalog: the database decides what read-then-write would get wrong.
/// Skipped (with a note on stderr) when no test server is configured; CI always has one.
@Suite(.enabled(if: PostgresTestServer.url != nil, "INGESTD_TEST_POSTGRES_URL is not set"))
struct CatalogSharedTests {
    static func twoNodes() throws -> (Catalog, Catalog) {
        let url = try PostgresTestServer.freshDatabase()
        let layout = StorageLayout(root: "/nonexistent")
        return (
            try Catalog.open(url: url, layout: layout, nodeID: "node-a", poolSize: 4),
            try Catalog.open(url: url, layout: layout, nodeID: "node-b", poolSize: 4)
        )
    }

    /// Runs `body(0)` and `body(1)` on two threads at once and waits for both.
    static func together(_ body: @escaping @Sendable (Int) -> Void) {
        let group = DispatchGroup()
        for i in 0..<2 {
            group.enter()
            Thread.detachNewThread {
                body(i)
                group.leave()
            }
        }
        group.wait()
    }

    @Test func theSameClipOnTwoNodesIsAdmittedOnce() throws {
        let (a, b) = try Self.twoNodes()
        var config = IngestConfiguration()
        config.duplicates = .reject
        let frozen = config
        for round in 0..<10 {
            let checksum = String(repeating: String(round), count: 64)
            let outcomes = Mutex<[String]>([])
            Self.together { i in
                let catalog = i == 0 ? a : b
                var asset = Fixture.asset(checksum: checksum, status: .processing)
                asset.relativePath = "uploads/project_demo/clip-\(round)-\(i).mp4"
                do {
                    try catalog.write { tx in
                        try tx.lockProject(Fixture.demo)
                        try Ingestor.admit(asset, to: Fixture.demo, tx, policy: IngestPolicy(frozen))
                        try tx.insert(asset)
                    }
                    outcomes.withLock { $0.append("inserted") }
                } catch let refusal as Ingestor.AdmissionRefusal {
                    outcomes.withLock { $0.append(refusal.reason.rawValue) }
                } catch {
                    outcomes.withLock { $0.append("\(error)") }
                }
            }
            #expect(outcomes.withLock { $0.sorted() } == ["duplicate", "inserted"])
        }
        #expect(try a.allAssets().count == 10)
    }

    @Test func aQuotaHoldsAcrossNodes() throws {
        let (a, b) = try Self.twoNodes()
        var config = IngestConfiguration()
        config.projectQuotaBytes = 1_500
        config.duplicates = .keep
        let frozen = config
        let inserted = Atomic<Int>(0)
        Self.together { i in
            let catalog = i == 0 ? a : b
            for n in 0..<10 {
                var asset = Fixture.asset(size: 100)
                asset.relativePath = "uploads/project_demo/q-\(i)-\(n).mp4"
                do {
                    try catalog.write { tx -> Void in
                        try tx.lockProject(Fixture.demo)
                        try Ingestor.admit(asset, to: Fixture.demo, tx, policy: IngestPolicy(frozen))
                        try tx.insert(asset)
                    }
                    inserted.add(1, ordering: .relaxed)
                } catch {}
            }
        }
        #expect(inserted.load(ordering: .relaxed) == 15)
        #expect(try a.uploadBytes(project: Fixture.demo) == 1_500)
    }

    @Test func eventsOfTwoNodesFormOneConsecutiveSequence() throws {
        let (a, b) = try Self.twoNodes()
        Self.together { i in
            let catalog = i == 0 ? a : b
            for n in 0..<100 { _ = try? catalog.appendEvent(CatalogEventTests.event(n)) }
        }
        let events = try b.events(after: 0, limit: 1_000)
        #expect(events.map(\.id) == Array(1...200))
        #expect(events.filter { $0.node == "node-a" }.count == 100)
        #expect(events.filter { $0.node == "node-b" }.count == 100)
        #expect(try a.lastEventID() == 200)
    }

    @Test func anotherNodesEventWakesTheFollower() throws {
        let (a, b) = try Self.twoNodes()
        let woken = Atomic<Int>(0)
        let watch = try #require(a.watchEvents { woken.add(1, ordering: .relaxed) })
        defer { watch.stop() }
        // The first wake comes once LISTEN is in place.
        let start = Date()
        while woken.load(ordering: .relaxed) == 0, Date().timeIntervalSince(start) < 5 { usleep(10_000) }
        let before = woken.load(ordering: .relaxed)
        try b.appendEvent(CatalogEventTests.event(1))
        while woken.load(ordering: .relaxed) == before, Date().timeIntervalSince(start) < 10 { usleep(10_000) }
        #expect(woken.load(ordering: .relaxed) > before)
        #expect(try a.events(after: 0, limit: 10).map(\.node) == ["node-b"])
    }

    @Test func eachNodeSeesOnlyItsOwnJournal() throws {
        let (a, b) = try Self.twoNodes()
        let moveA = try a.addPendingMove(
            PendingMove(
                assetID: "x",
                projectID: "demo",
                sourcePath: "/drop-a/x.mp4",
                stagingPath: "/s/x",
                stage: .staged
            )
        )
        _ = try b.addPendingMove(
            PendingMove(
                assetID: "y",
                projectID: "demo",
                sourcePath: "/drop-b/y.mp4",
                stagingPath: "/s/y",
                stage: .staged
            )
        )
        #expect(try a.pendingMoves().map(\.assetID) == ["x"])
        #expect(try b.pendingMoves().map(\.assetID) == ["y"])
        #expect(try a.pendingMoves().first?.id == moveA.id)
    }

    @Test func aThumbnailJobIsTakenOverOnlyOnceItsLeaseLapses() throws {
        let (a, b) = try Self.twoNodes()
        try a.enqueueJob(.thumbnail, assetID: "x", params: "")
        let claimed = try #require(try a.claimJob(kinds: [.thumbnail]))
        #expect(try b.claimJob(kinds: [.thumbnail]) == nil)
        #expect(try a.heartbeatJob(id: claimed.id))
        // Node A is lost: its lease lapses.
        try a.execute("UPDATE jobs SET lease_expires = 0")
        let taken = try #require(try b.claimJob(kinds: [.thumbnail]))
        #expect(taken.id == claimed.id && taken.leaseOwner == b.nodeID && taken.attempts == 2)
        #expect(try a.heartbeatJob(id: claimed.id) == false, "node A learns that it lost the job")
    }

    /// Two nodes claiming at once, one job or a batch per claim, take every job exactly once.
    @Test(arguments: [1, 3]) func nodesClaimingAtOnceSplitTheThumbnails(batch: Int) throws {
        let (a, b) = try Self.twoNodes()
        for i in 0..<40 { try a.enqueueJob(.thumbnail, assetID: "asset-\(i)", params: "") }
        let taken = Mutex<[String]>([])
        Self.together { i in
            let catalog = i == 0 ? a : b
            while let jobs = try? catalog.claimJobs(kinds: [.thumbnail], atMost: batch), !jobs.isEmpty {
                taken.withLock { $0.append(contentsOf: jobs.map(\.assetID)) }
            }
        }
        let ids = taken.withLock { $0 }
        #expect(ids.count == 40)
        #expect(Set(ids).count == 40)
    }

    @Test func repairRunsOnOneNodeAtATime() throws {
        let (a, b) = try Self.twoNodes()
        let inner: Result<Int, any Error> = try a.exclusiveRepair {
            Result { try b.exclusiveRepair { 1 } }
        }
        #expect(throws: StorageError.self) { try inner.get() }
        // Released afterwards.
        #expect(try b.exclusiveRepair { 2 } == 2)
    }

    @Test func anUnreachableServerIsNamedWithoutItsPassword() throws {
        let url = "postgres://ingest:s3cr3t-pw@127.0.0.1:1/catalog"
        do {
            _ = try Catalog.open(url: url, layout: StorageLayout(root: "/nonexistent"), nodeID: "n")
            Issue.record("opened a catalog on a closed port")
        } catch {
            let text = "\(error)"
            #expect(!text.contains("s3cr3t-pw"), "\(text)")
            #expect(text.contains("postgres://ingest@127.0.0.1:1/catalog"), "\(text)")
        }
    }
}
