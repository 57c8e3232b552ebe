import Foundation
import Synchronization
import Testing

@testable import StorageKit

struct CatalogJobTests {
    @Test func claimsFollowPriorityThenAge() throws {
        let catalog = try Catalog.inMemory(nodeID: "n1")
        try catalog.enqueueJob(.renditions, assetID: "a", params: "mp4:720p")
        try catalog.enqueueJob(.sprite, assetID: "b", params: "auto")
        try catalog.enqueueJob(.sprite, assetID: "a", params: "auto")
        #expect(try catalog.pendingJobs(kinds: [.sprite, .renditions]) == 3)
        let first = try #require(try catalog.claimJob(kinds: [.sprite, .renditions]))
        #expect(first.kind == .sprite && first.assetID == "b")
        #expect(first.state == .running && first.attempts == 1 && first.leaseOwner == "n1")
        let second = try #require(try catalog.claimJob(kinds: [.sprite, .renditions]))
        #expect(second.kind == .sprite && second.assetID == "a")
        let third = try #require(try catalog.claimJob(kinds: [.sprite, .renditions]))
        #expect(third.kind == .renditions)
        #expect(try catalog.claimJob(kinds: [.sprite, .renditions]) == nil)
        // Running jobs still count as pending until completed.
        #expect(try catalog.pendingJobs(kinds: [.sprite, .renditions]) == 3)
        try catalog.completeJob(id: first.id)
        #expect(try catalog.pendingJobs(kinds: [.sprite, .renditions]) == 2)
    }

    /// One claim takes several jobs, in the order single claims would; only the first counts an attempt, the
    /// others are held under the lease until each is started (its attempt counted then); fewer when fewer wait,
    /// none when none does.
    @Test func aBatchClaimTakesJobsInOrderCountingAnAttemptOnlyWhenEachStarts() throws {
        let catalog = try Catalog.inMemory(nodeID: "n1")
        for name in ["a", "b", "c"] { try catalog.enqueueJob(.thumbnail, assetID: name, params: "") }
        try catalog.enqueueJob(.sprite, assetID: "a", params: "auto")
        let first = try catalog.claimJobs(kinds: [.thumbnail], atMost: 2)
        #expect(first.map(\.assetID) == ["a", "b"])
        #expect(first.allSatisfy { $0.state == .running && $0.leaseOwner == "n1" })
        #expect(first.map(\.attempts) == [1, 0])
        #expect(try catalog.claimJobs(kinds: [.thumbnail], atMost: 2).map(\.assetID) == ["c"])
        #expect(try catalog.claimJobs(kinds: [.thumbnail], atMost: 2).isEmpty)
        let started = try #require(try catalog.startJob(first[1]))
        #expect(started.attempts == 1 && started.id == first[1].id)
        #expect(try catalog.jobs(assetID: "b").first?.attempts == 1)
        // A released job of the batch is claimed again with its attempt given back.
        try catalog.releaseJob(started)
        let again = try catalog.claimJobs(kinds: [.thumbnail], atMost: 4)
        #expect(again.map(\.assetID) == ["b"] && again[0].attempts == 1)
    }

    /// A crash charges the jobs that were rendering, not those a batch held unstarted: after the node's restart
    /// the held ones are fresh (claimed beside others), the started one a suspect (claimed alone).
    @Test func jobsHeldUnstartedWhenTheNodeDiesStayFresh() throws {
        let catalog = try Catalog.inMemory(nodeID: "n1")
        for name in ["a", "b", "c", "d"] { try catalog.enqueueJob(.thumbnail, assetID: name, params: "") }
        let batch = try catalog.claimJobs(kinds: [.thumbnail], atMost: 4)
        _ = try #require(try catalog.startJob(batch[1]))
        try catalog.expireOwnJobLeases()
        let suspects = try catalog.claimJobs(kinds: [.thumbnail], among: .suspects, atMost: 4)
        #expect(suspects.map(\.assetID) == ["a", "b"])
        let fresh = try catalog.claimJobs(kinds: [.thumbnail], among: .fresh, atMost: 4)
        #expect(fresh.map(\.assetID) == ["c", "d"])
    }

    /// Held jobs given back unstarted keep the attempts they had before the claim, an earlier one's included.
    @Test func heldJobsGivenBackKeepTheirAttempts() throws {
        let catalog = try Catalog.inMemory(nodeID: "n1")
        for name in ["a", "b"] { try catalog.enqueueJob(.thumbnail, assetID: name, params: "") }
        let longAgo = Date().addingTimeInterval(-60)
        for _ in 0..<2 { _ = try #require(try catalog.claimJob(kinds: [.thumbnail], lease: .seconds(1), now: longAgo)) }
        let batch = try catalog.claimJobs(kinds: [.thumbnail], atMost: 2)
        #expect(batch.map(\.assetID) == ["a", "b"] && batch.map(\.attempts) == [2, 1])
        try catalog.releaseHeldJobs([batch[1]])
        #expect(try catalog.jobs(assetID: "b").map(\.attempts) == [1])
        #expect(try catalog.jobs(assetID: "b").map(\.state) == [.queued])
        #expect(try catalog.claimJob(kinds: [.thumbnail])?.attempts == 2)
    }

    /// A held job that is no longer this node's (cancelled, or taken over after its lease lapsed) is not
    /// started: the worker drops it instead of rendering another node's work.
    @Test func aHeldJobThatWasLostDoesNotStart() throws {
        let catalog = try Catalog.inMemory(nodeID: "n1")
        for name in ["a", "b"] { try catalog.enqueueJob(.thumbnail, assetID: name, params: "") }
        let batch = try catalog.claimJobs(kinds: [.thumbnail], atMost: 2)
        try catalog.cancelJobs(assetID: "b")
        #expect(try catalog.startJob(batch[1]) == nil)
        // Held under a lease that lapsed, then taken over by another node: its claim is that node's now.
        try catalog.enqueueJob(.thumbnail, assetID: "c", params: "")
        try catalog.enqueueJob(.thumbnail, assetID: "d", params: "")
        let longAgo = Date().addingTimeInterval(-60)
        let lapsing = try catalog.claimJobs(kinds: [.thumbnail], atMost: 2, lease: .seconds(30), now: longAgo)
        #expect(lapsing.map(\.assetID) == ["c", "d"])
        let other = Catalog(backend: catalog.backend, nodeID: "n2")
        #expect(try other.claimJobs(kinds: [.thumbnail], atMost: 2).map(\.assetID) == ["c", "d"])
        #expect(try catalog.startJob(lapsing[1]) == nil)
    }

    /// A job whose node died (its lease lapsed) keeps its place in the order among the queued ones, across
    /// kinds; and each look-up of a claim reads its index in order instead of sorting the waiting jobs.
    @Test func aLapsedJobKeepsItsPlaceAndClaimsReadTheirIndexInOrder() throws {
        let catalog = try Catalog.inMemory(nodeID: "n1")
        try catalog.enqueueJob(.renditions, assetID: "a", params: "mp4:720p")
        try catalog.enqueueJob(.sprite, assetID: "a", params: "auto")
        let died = try #require(try catalog.claimJob(kinds: [.sprite]))
        try catalog.expireOwnJobLeases()
        try catalog.enqueueJob(.sprite, assetID: "b", params: "auto")
        #expect(try catalog.claimJob(kinds: [.sprite, .renditions])?.id == died.id)
        #expect(try catalog.claimJob(kinds: [.sprite, .renditions])?.assetID == "b")
        #expect(try catalog.claimJob(kinds: [.sprite, .renditions])?.kind == .renditions)
        for lapsed in [false, true] {
            for among in [Job.Attempted.any, .fresh, .suspects] {
                let sql = JobTable.claimCandidateSQL(lapsed: lapsed, among: among)
                    .replacingOccurrences(of: "?", with: "1")
                let plan = try catalog.queryPlan(sql)
                #expect(plan.contains("jobs_claim_by_kind") && !plan.contains("TEMP B-TREE"), "\(sql): \(plan)")
            }
        }
    }

    @Test func freshJobsAndSuspectsAreClaimedApart() throws {
        let catalog = try Catalog.inMemory(nodeID: "n1")
        try catalog.enqueueJob(.thumbnail, assetID: "crashed", params: "")
        _ = try #require(try catalog.claimJob(kinds: [.thumbnail]))
        try catalog.expireOwnJobLeases()  // the daemon died during that attempt
        try catalog.enqueueJob(.thumbnail, assetID: "new", params: "")
        #expect(try catalog.suspectJobWaits(kinds: [.thumbnail]))
        let fresh = try #require(try catalog.claimJob(kinds: [.thumbnail], among: .fresh))
        #expect(fresh.assetID == "new" && fresh.attempts == 1)
        #expect(try catalog.claimJob(kinds: [.thumbnail], among: .fresh) == nil)
        let suspect = try #require(try catalog.claimJob(kinds: [.thumbnail], among: .suspects))
        #expect(suspect.assetID == "crashed" && suspect.attempts == 2)
        #expect(try catalog.suspectJobWaits(kinds: [.thumbnail]) == false)
        // A stop gives the attempt back: the job is fresh again.
        try catalog.releaseJob(fresh)
        #expect(try catalog.claimJob(kinds: [.thumbnail], among: .fresh)?.assetID == "new")
    }

    /// Found by review: a node whose lease lapsed (a catalog outage) must not fail or release the claim that
    /// took the job over, on another node or on its own.
    @Test func failAndReleaseTouchOnlyTheClaimTheyName() throws {
        let catalog = try Catalog.inMemory(nodeID: "n1")
        try catalog.enqueueJob(.renditions, assetID: "a", params: "mp4:720p")
        let now = Date()
        let first = try #require(try catalog.claimJob(kinds: [.renditions], now: now))
        let second = try #require(try catalog.claimJob(kinds: [.renditions], now: now.addingTimeInterval(31)))
        #expect(second.attempts == 2)
        try catalog.releaseJob(first)
        #expect(try catalog.failJob(first, error: "late") == false)
        #expect(try catalog.jobs(assetID: "a").first?.state == .running)
        #expect(try catalog.failJob(second, error: "real") == true)
        #expect(try catalog.jobs(assetID: "a").first?.lastError == "real")
    }

    /// Found by review: repair re-queues a failed job, but a queued one keeps the attempts that tell of crashes.
    @Test func requeueingOnlyFailedJobsKeepsAQueuedJobsAttempts() throws {
        let catalog = try Catalog.inMemory(nodeID: "n1")
        try catalog.enqueueJob(.thumbnail, assetID: "a", params: "")
        _ = try #require(try catalog.claimJob(kinds: [.thumbnail]))
        try catalog.expireOwnJobLeases()
        try catalog.enqueueJob(.thumbnail, assetID: "a", params: "", onlyFailed: true)
        #expect(try catalog.jobs(assetID: "a").first?.attempts == 1)
        let again = try #require(try catalog.claimJob(kinds: [.thumbnail], among: .suspects))
        try catalog.failJob(again, error: "x")
        try catalog.enqueueJob(.thumbnail, assetID: "a", params: "", onlyFailed: true)
        #expect(try catalog.jobs(assetID: "a").first.map { ($0.state, $0.attempts) } ?? (.failed, -1) == (.queued, 0))
    }

    @Test func aLapsedLeaseIsTakenOverAndCountsAnAttempt() throws {
        let catalog = try Catalog.inMemory(nodeID: "n1")
        try catalog.enqueueJob(.renditions, assetID: "a", params: "mp4:720p")
        let now = Date()
        let claimed = try #require(try catalog.claimJob(kinds: [.renditions], lease: .seconds(30), now: now))
        #expect(try catalog.claimJob(kinds: [.renditions], now: now.addingTimeInterval(10)) == nil)
        let taken = try #require(try catalog.claimJob(kinds: [.renditions], now: now.addingTimeInterval(31)))
        #expect(taken.id == claimed.id)
        #expect(taken.attempts == 2)
    }

    @Test func aRestartedNodeResumesItsOwnJobsAtOnce() throws {
        let catalog = try Catalog.inMemory(nodeID: "n1")
        try catalog.enqueueJob(.sprite, assetID: "a", params: "auto")
        _ = try #require(try catalog.claimJob(kinds: [.sprite]))
        #expect(try catalog.claimJob(kinds: [.sprite]) == nil)
        #expect(try catalog.expireOwnJobLeases() == 1)
        let again = try #require(try catalog.claimJob(kinds: [.sprite]))
        #expect(again.attempts == 2)
        #expect(again.attempts <= Job.maxAttempts)
        try catalog.expireOwnJobLeases()
        let third = try #require(try catalog.claimJob(kinds: [.sprite]))
        #expect(third.attempts > Job.maxAttempts)  // the service gives it up
    }

    @Test func releaseGivesTheAttemptBackAndHeartbeatsNoticeCancellation() throws {
        let catalog = try Catalog.inMemory(nodeID: "n1")
        try catalog.enqueueJob(.sprite, assetID: "a", params: "auto")
        let job = try #require(try catalog.claimJob(kinds: [.sprite]))
        #expect(try catalog.heartbeatJob(id: job.id))
        try catalog.releaseJob(job)
        let again = try #require(try catalog.claimJob(kinds: [.sprite]))
        #expect(again.attempts == 1)
        #expect(try catalog.cancelJobs(assetID: "a") == 1)
        #expect(try catalog.heartbeatJob(id: job.id) == false)
        #expect(try catalog.jobs(assetID: "a").isEmpty)
    }

    @Test func enqueueRequeuesAFailedJobButLeavesARunningOne() throws {
        let catalog = try Catalog.inMemory(nodeID: "n1")
        try catalog.enqueueJob(.sprite, assetID: "a", params: "auto")
        let job = try #require(try catalog.claimJob(kinds: [.sprite]))
        #expect(try catalog.enqueueJob(.sprite, assetID: "a", params: "2.0") == false)
        try catalog.failJob(job, error: "sprite: no frame")
        #expect(try catalog.jobs(assetID: "a").first?.state == .failed)
        #expect(try catalog.jobs(assetID: "a").first?.lastError == "sprite: no frame")
        #expect(try catalog.pendingJobs(kinds: [.sprite]) == 0)
        #expect(try catalog.enqueueJob(.sprite, assetID: "a", params: "2.0"))
        let requeued = try #require(try catalog.jobs(assetID: "a").first)
        #expect(requeued.state == .queued && requeued.attempts == 0 && requeued.params == "2.0")
    }

    @Test func purgingAProjectCancelsItsJobs() throws {
        let catalog = try Catalog.inMemory()
        let mine = Fixture.asset(project: "demo", createdMillis: 1)
        let other = Fixture.asset(project: "other", createdMillis: 2)
        try catalog.insertBatch([mine, other])
        try catalog.enqueueJob(.sprite, assetID: mine.id, params: "auto")
        try catalog.enqueueJob(.sprite, assetID: other.id, params: "auto")
        #expect(try catalog.cancelJobs(project: ProjectID(exactly: "demo")!) == 1)
        #expect(try catalog.jobs(assetID: other.id).count == 1)
    }
}

/// Which kind of write each catalog call asks its backend for.
final class WriteKindRecorder: CatalogBackend {
    let inner: any CatalogBackend
    let calls = Mutex<[String]>([])

    init(_ inner: any CatalogBackend) { self.inner = inner }

    var location: String { inner.location }
    func write<T>(_ operation: String, nodeID: String, _ body: (any CatalogConnection) throws -> T) throws -> T {
        calls.withLock { $0.append("write") }
        return try inner.write(operation, nodeID: nodeID, body)
    }
    func writeDurably<T>(_ operation: String, nodeID: String, _ body: (any CatalogConnection) throws -> T) throws -> T {
        calls.withLock { $0.append("durable") }
        return try inner.writeDurably(operation, nodeID: nodeID, body)
    }
    func writeStartingWork<T>(
        _ operation: String,
        nodeID: String,
        durable: Bool,
        _ body: (any CatalogConnection) throws -> T
    ) throws -> T {
        calls.withLock { $0.append(durable ? "starting, durable" : "starting") }
        return try inner.write(operation, nodeID: nodeID, body)
    }
    func read<T>(_ operation: String, nodeID: String, _ body: (any CatalogConnection) throws -> T) throws -> T {
        try inner.read(operation, nodeID: nodeID, body)
    }
    func watchEvents(_ wake: @escaping @Sendable () -> Void) -> (any CatalogEventWatch)? { nil }
    var unavailableReason: String? { nil }
    func exclusively<T>(_ key: Int64, busy: String, _ body: () throws -> T) throws -> T { try body() }
    func close() {}
    var isClosed: Bool { false }
}

struct CatalogWriteKindTests {
    /// Issue 13: a claim or a heartbeat does not wait for a lost server (a stop, the queue, and the other jobs
    /// would wait with it); a journal entry does not wait either, and is durable.
    @Test func claimsHeartbeatsAndJournalEntriesStartWork() throws {
        let recorder = WriteKindRecorder(try SQLiteBackend.inMemory())
        let catalog = Catalog(backend: recorder, nodeID: "n1")
        try catalog.enqueueJob(.thumbnail, assetID: "a", params: "")
        let job = try #require(try catalog.claimJob(kinds: [.thumbnail]))
        _ = try catalog.heartbeatJob(id: job.id)
        try catalog.completeJob(id: job.id)
        _ = try catalog.addPendingMove(
            PendingMove(assetID: "a", projectID: "demo", sourcePath: "/d/a.mp4", stagingPath: "/s/a", stage: .staged)
        )
        #expect(recorder.calls.withLock { $0 } == ["write", "starting", "starting", "write", "starting, durable"])
    }
}
