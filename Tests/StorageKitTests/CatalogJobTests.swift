import Foundation
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
        try catalog.releaseJob(id: job.id)
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
        try catalog.failJob(id: job.id, error: "sprite: no frame")
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
