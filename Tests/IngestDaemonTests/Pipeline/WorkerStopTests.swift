import Testing

@testable import IngestDaemon

/// The stop of the thumbnail and rendition services: the flag and latch a request sets, and the bounded wait for
/// the run loop.
@Suite(.timeLimit(.minutes(1)))
struct WorkerStopTests {
    @Test func aRequestSetsTheFlagAndOpensTheLatch() async {
        let stop = WorkerStop()
        #expect(!stop.isRequested)
        #expect(!stop.requested.isOpen)
        stop.request()
        #expect(stop.isRequested)
        #expect(stop.requested.isOpen)
    }

    @Test func theWaitEndsWhenTheRunEnds() async {
        let stop = WorkerStop()
        let started = ContinuousClock.now
        Task {
            try? await Task.sleep(for: .milliseconds(50))
            stop.runEnded()
        }
        await stop.waitForRunToEnd(atMost: .seconds(20))
        #expect(ContinuousClock.now - started < .seconds(10))
    }

    @Test func theWaitIsBounded() async {
        let stop = WorkerStop()
        let started = ContinuousClock.now
        await stop.waitForRunToEnd(atMost: .milliseconds(100))
        #expect(ContinuousClock.now - started >= .milliseconds(100))
    }
}
