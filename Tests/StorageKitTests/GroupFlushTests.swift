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
        let threads = (0..<8).map { index in
            Thread {
                Thread.sleep(forTimeInterval: Double(index % 4) * 0.005)
                let called = clock.now
                try? group.flush {
                    let start = clock.now
                    Thread.sleep(forTimeInterval: 0.02)
                    runs.withLock { $0.append((start, clock.now)) }
                }
                let returned = clock.now
                calls.withLock { $0.append((called, returned)) }
            }
        }
        for thread in threads { thread.start() }
        let deadline = clock.now + .seconds(10)
        while calls.withLock({ $0.count }) < 8, clock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        #expect(calls.withLock { $0.count } == 8)
        let made = runs.withLock { $0 }
        #expect(made.count < 8, "flushes were not shared: \(made.count) for 8 callers")
        #expect(made.count >= 2)
        for call in calls.withLock({ $0 }) {
            #expect(made.contains { $0.start >= call.called && $0.end <= call.returned })
        }
    }

    /// A failed flush is the error of the caller that ran it; the callers waiting for it run their own.
    @Test func aFailedFlushIsRethrownAndTheNextCallerFlushesAgain() throws {
        let group = GroupFlush()
        struct Broken: Error {}
        #expect(throws: Broken.self) { try group.flush { throw Broken() } }
        var ran = false
        try group.flush { ran = true }
        #expect(ran)
    }
}
