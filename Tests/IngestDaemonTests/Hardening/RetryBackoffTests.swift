import StorageKit
import Testing

@testable import IngestDaemon

/// Issue 10, scenario 9: failed work is retried with back-off and a cap, not every 5 s forever.
struct RetryBackoffTests {
    @Test func delaysDoubleUpToACapThenStop() {
        let backoff = RetryBackoff()
        let path = RawPath("/drop/p/a.mp4")
        var delays: [Duration?] = []
        for _ in 0..<RetryBackoff.maxFailures { delays.append(backoff.failed(path, error: "disk error")) }
        #expect(delays.prefix(4) == [.seconds(5), .seconds(10), .seconds(20), .seconds(40)])
        #expect(delays.dropLast().allSatisfy { $0 != nil && $0! <= RetryBackoff.longestDelay })
        #expect(delays.last! == nil)
        #expect(backoff.waitingReason()?.contains("a.mp4") == true)
        backoff.succeeded(path)
        #expect(backoff.waitingReason() == nil)
        #expect(backoff.failed(path, error: "again") == .seconds(5))
    }
}
