import Foundation
import Synchronization
import Testing

@testable import IngestDaemon

/// The pieces that replaced "sleep and look again" loops: a latch, a doorbell, a queue's idle moment, a blocking call a
/// stop may abandon, and a time limit.
@Suite(.timeLimit(.minutes(3)))
struct WaitingTests {
    @Test func aLatchLetsWaitersThroughWhenOpenedAndLaterOnesAtOnce() async {
        let latch = Latch()
        let waiter = Task { await latch.wait() }
        try? await Task.sleep(for: .milliseconds(50))
        #expect(!latch.isOpen)
        latch.open()
        await waiter.value
        await latch.wait()
        #expect(latch.isOpen)
    }

    @Test func aCancelledWaiterLeavesAClosedLatch() async {
        let latch = Latch()
        let waiter = Task { await latch.wait() }
        waiter.cancel()
        await waiter.value
        #expect(!latch.isOpen)
    }

    @Test func aRingBetweenALookAndTheWaitIsNotLost() async {
        let bell = Doorbell()
        let seen = bell.generation
        bell.ring()  // work queued after the worker looked, before it waits
        await bell.wait(after: seen)  // returns at once
        let woken = Latch()
        let now = bell.generation
        let waiter = Task {
            await bell.wait(after: now)
            woken.open()
        }
        try? await Task.sleep(for: .milliseconds(50))
        #expect(!woken.isOpen)
        bell.ring()
        await waiter.value
        #expect(woken.isOpen)
    }

    @Test func oneRingWakesOneWaiter() async {
        let bell = Doorbell()
        let seen = bell.generation
        final class Count: Sendable { let value = Mutex(0) }
        let woken = Count()
        let waiters = (0..<2).map { _ in
            Task {
                await bell.wait(after: seen)
                woken.value.withLock { $0 += 1 }
            }
        }
        try? await Task.sleep(for: .milliseconds(50))
        bell.ring()
        try? await Task.sleep(for: .milliseconds(50))
        #expect(woken.value.withLock { $0 } == 1)
        bell.close()
        for waiter in waiters { await waiter.value }
        #expect(woken.value.withLock { $0 } == 2)
    }

    @Test func aClosedDoorbellNoLongerHoldsWaitersAndALimitEndsAWait() async {
        let bell = Doorbell()
        let start = ContinuousClock.now
        await bell.wait(after: bell.generation, atMost: .milliseconds(100))
        #expect(ContinuousClock.now - start >= .milliseconds(100))
        let seen = bell.generation
        let waiter = Task { await bell.wait(after: seen) }
        bell.close()
        await waiter.value
        await bell.wait(after: bell.generation)
        #expect(bell.isClosed)
    }

    @Test func untilIdleReturnsWhenTheLastItemIsDone() async {
        let queue = WorkQueue<String>()
        await queue.untilIdle()  // idle now: returns at once
        await queue.push("a")
        #expect(await queue.pop() == "a")
        let finished = Latch()
        let waiter = Task {
            await queue.untilIdle()
            finished.open()
        }
        try? await Task.sleep(for: .milliseconds(50))
        #expect(!finished.isOpen)
        await queue.done("a")
        await waiter.value
        #expect(finished.isOpen)
    }

    @Test func closingDropsWhatWaitsButNotWhatIsInProgress() async {
        let queue = WorkQueue<String>()
        await queue.push("a")
        await queue.push("b")
        #expect(await queue.pop() == "a")
        await queue.close()
        #expect(await queue.depth == 1)
        let waiter = Task { await queue.untilIdle() }
        await queue.done("a")
        await waiter.value
        #expect(await queue.isIdle)
    }

    @Test func aCancelledCallerStopsWaitingForBlockingWork() async throws {
        let threads = BlockingThreads(count: 1)
        #expect(try await threads.runUnlessCancelled { 21 * 2 } == 42)
        let release = Latch()
        let call = Task {
            try await threads.runUnlessCancelled {
                while !release.isOpen { usleep(1000) }
                return 1
            }
        }
        try await Task.sleep(for: .milliseconds(50))
        call.cancel()
        await #expect(throws: CancellationError.self) { try await call.value }
        release.open()
    }

    /// Issue 11 review: work whose caller was cancelled while it waited for a thread never starts (an ingest
    /// queued behind others must not begin after the drain that abandoned it has ended).
    @Test func workCancelledWhileItWaitsForAThreadNeverStarts() async throws {
        let threads = BlockingThreads(count: 1)
        let release = Latch()
        let holding = Task { try await threads.run { while !release.isOpen { usleep(1000) } } }
        try await Task.sleep(for: .milliseconds(50))
        let started = Latch()
        let queued = Task { try await threads.runUnlessCancelled { started.open() } }
        try await Task.sleep(for: .milliseconds(50))
        queued.cancel()
        await #expect(throws: CancellationError.self) { try await queued.value }
        release.open()
        try await holding.value
        // The one thread is free again: anything still queued before this would have run by now.
        _ = try await threads.run {}
        #expect(!started.isOpen, "the cancelled work ran once a thread was free")
    }

    @Test func aTimeLimitEndsWaitingButNotEarlyWork() async {
        #expect(await withTimeLimit(.seconds(5)) {})
        #expect(!(await withTimeLimit(.milliseconds(50)) { await Latch().wait() }))
    }
}
