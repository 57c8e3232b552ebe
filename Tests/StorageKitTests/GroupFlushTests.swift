import Foundation
import Synchronization
import Testing

@testable import StorageKit

struct GroupFlushTests {
    /// Each caller returns only after a flush that began after its call has ended (what it wrote before the
    /// call is then on disk); callers that come while a flush runs share the next one.
    @Test func everyCallerIsCoveredByAFlushThatBeganAfterItAndConcurrentCallersShare() async throws {
        let group = GroupFlush()
        let clock = ContinuousClock()
        let runs = Mutex<[(start: ContinuousClock.Instant, end: ContinuousClock.Instant)]>([])
        let calls = Mutex<[(called: ContinuousClock.Instant, returned: ContinuousClock.Instant)]>([])
        let threads = (0..<8).map { _ in
            Thread {
                let called = clock.now
                try? group.flush {
                    let start = clock.now
                    // The first flush lasts until every caller has come: the seven others wait for it and must
                    // share the next one (it began before their calls, so it covers none of them).
                    if runs.withLock({ $0.isEmpty }) {
                        while group.calls < 8 { Thread.sleep(forTimeInterval: 0.001) }
                    }
                    runs.withLock { $0.append((start, clock.now)) }
                }
                let returned = clock.now
                calls.withLock { $0.append((called, returned)) }
            }
        }
        for thread in threads { thread.start() }
        let deadline = clock.now + .seconds(20)
        while calls.withLock({ $0.count }) < 8, clock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        #expect(calls.withLock { $0.count } == 8)
        let made = runs.withLock { $0 }
        #expect(made.count == 2, "8 callers, of which 7 came during the first flush: \(made.count) flushes")
        for call in calls.withLock({ $0 }) {
            #expect(made.contains { $0.start >= call.called && $0.end <= call.returned })
        }
    }

    /// Found by review: a failed flush is the error of every caller it was to cover, not only of the one that
    /// ran it. (The kernel reports a lost write once: a second flush would succeed with their data not on disk.)
    @Test func everyCallerAFailedFlushWasToCoverGetsItsError() async throws {
        let group = GroupFlush()
        struct Broken: Error {}
        let runs = Atomic<Int>(0)
        let outcomes = Mutex<[Bool]>([])
        // The first flush lasts until two more callers have come; they share the second flush, which fails.
        let perform: @Sendable () throws -> Void = {
            let run = runs.add(1, ordering: .relaxed).newValue
            if run == 1 { while group.calls < 3 { Thread.sleep(forTimeInterval: 0.001) } }
            if run == 2 { throw Broken() }
        }
        let first = Thread { _ = try? group.flush(perform) }
        first.start()
        while runs.load(ordering: .relaxed) == 0 { try await Task.sleep(for: .milliseconds(1)) }
        let late = (0..<2).map { _ in
            Thread {
                let ok = (try? group.flush(perform)) != nil
                outcomes.withLock { $0.append(ok) }
            }
        }
        for thread in late { thread.start() }
        let deadline = ContinuousClock.now + .seconds(20)
        while outcomes.withLock({ $0.count }) < 2, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(5))
        }
        #expect(outcomes.withLock { $0 } == [false, false])
        #expect(runs.load(ordering: .relaxed) == 2)
    }

    /// A failed flush is the error of the caller that ran it; a caller that comes later runs its own.
    @Test func aFailedFlushIsRethrownAndTheNextCallerFlushesAgain() throws {
        let group = GroupFlush()
        struct Broken: Error {}
        #expect(throws: Broken.self) { try group.flush { throw Broken() } }
        var ran = false
        try group.flush { ran = true }
        #expect(ran)
    }
}
