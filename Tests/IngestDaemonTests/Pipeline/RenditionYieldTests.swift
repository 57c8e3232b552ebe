import Foundation
import StorageKit
import Synchronization
import Testing

@testable import IngestDaemon

/// Sprites and renditions wait while ingest or thumbnails have work on the node, and no longer than
/// `longestYield`: a burst is stored and shown first, and a steady stream of drops never starves them.
// The windows are wide: a full test run keeps the cooperative threads busy for seconds at a time, and a
// claim that comes late is still right; only a claim while the foreground is busy is wrong.
@Suite(.timeLimit(.minutes(3)))
struct RenditionYieldTests {
    private static func context(_ dir: TempDir) throws -> DaemonContext {
        try DaemonContext.forTests(in: dir, nodeID: "yield-test")
    }

    /// Queues a sprite job of an asset that is not there: a worker that claims it completes it at once.
    private static func queueJob(_ context: DaemonContext) throws {
        try context.catalog.enqueueJob(.sprite, assetID: "gone", params: "auto")
    }

    private static func pending(_ context: DaemonContext) throws -> Int {
        try context.catalog.pendingJobs(kinds: DerivedWork.kinds)
    }

    /// Waits up to `limit` for `condition`.
    private static func eventually(within limit: Duration, _ condition: () throws -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if try condition() { return true }
            try await Task.sleep(for: .milliseconds(20))
        }
        return try condition()
    }

    @Test func noJobIsClaimedWhileTheForegroundIsBusy() async throws {
        let dir = TempDir()
        let context = try Self.context(dir)
        let busy = Atomic<Bool>(true)
        let idle = Doorbell()
        let service = RenditionService(context: context, foregroundIdle: idle) { busy.load(ordering: .relaxed) }
        try Self.queueJob(context)
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { await service.run() }
            try await Task.sleep(for: .milliseconds(600))
            #expect(try Self.pending(context) == 1, "claimed while ingest was busy")
            busy.store(false, ordering: .relaxed)
            idle.ring()
            let done = try await Self.eventually(within: .seconds(90)) { try Self.pending(context) == 0 }
            #expect(done)
            await service.stop()
        }
    }

    @Test func aBusyForegroundDelaysAJobNoLongerThanTheLongestYield() async throws {
        let dir = TempDir()
        let context = try Self.context(dir)
        let service = RenditionService(context: context, longestYield: .milliseconds(300)) { true }
        try Self.queueJob(context)
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { await service.run() }
            let done = try await Self.eventually(within: .seconds(90)) { try Self.pending(context) == 0 }
            #expect(done)
            await service.stop()
        }
    }

    /// The worker does not look again and again while the foreground stays busy: it waits for the foreground to
    /// say it may be idle (ingest's queue emptied, thumbnails ran out of jobs), and then starts at once.
    @Test func aYieldingWorkerWaitsForTheForegroundToGoIdleInsteadOfLooking() async throws {
        let dir = TempDir()
        let context = try Self.context(dir)
        let busy = Atomic<Bool>(true)
        let looks = Atomic<Int>(0)
        let idle = Doorbell()
        let service = RenditionService(context: context, longestYield: .seconds(120), foregroundIdle: idle) {
            looks.add(1, ordering: .relaxed)
            return busy.load(ordering: .relaxed)
        }
        try Self.queueJob(context)
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { await service.run() }
            try await Task.sleep(for: .seconds(1))
            #expect(looks.load(ordering: .relaxed) <= 2, "looked \(looks.load(ordering: .relaxed)) times in 1 s")
            #expect(try Self.pending(context) == 1)
            busy.store(false, ordering: .relaxed)
            idle.ring()
            let done = try await Self.eventually(within: .seconds(60)) { try Self.pending(context) == 0 }
            #expect(done, "the job waited for the longest yield, not for the foreground")
            await service.stop()
        }
    }
}
