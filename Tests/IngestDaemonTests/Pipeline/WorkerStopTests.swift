import Foundation
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
        // From a thread of its own: the run's end must not wait for the cooperative pool the suite keeps busy.
        Thread.detachNewThread {
            usleep(50_000)
            stop.runEnded()
        }
        #expect(await stop.waitForRunToEnd(atMost: .seconds(50)))
    }

    @Test func theWaitIsBounded() async {
        let stop = WorkerStop()
        let started = ContinuousClock.now
        #expect(!(await stop.waitForRunToEnd(atMost: .milliseconds(100))))
        #expect(ContinuousClock.now - started >= .milliseconds(100))
    }
}
