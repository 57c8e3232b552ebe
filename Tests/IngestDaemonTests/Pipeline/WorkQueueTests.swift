import Synchronization
import Testing

@testable import IngestDaemon

/// Issue 10, scenario 3: a notice for an item that is in progress is not lost.
@Suite(.timeLimit(.minutes(3)))
struct WorkQueueTests {
    @Test func aNoticeWhileInProgressIsHandedOutAgainAfterward() async throws {
        let queue = WorkQueue<String>()
        await queue.push("drop/p/x.mp4")
        #expect(await queue.pop() == "drop/p/x.mp4")
        // While x.mp4 is being hashed, another file is renamed onto its name: a new notice.
        await queue.push("drop/p/x.mp4")
        await queue.done("drop/p/x.mp4")
        #expect(await queue.depth == 1)
        let again = await queue.pop()
        #expect(again == "drop/p/x.mp4")
        await queue.done("drop/p/x.mp4")
        #expect(await queue.isIdle)
    }

    @Test func aQueuedItemIsStillQueuedOnce() async throws {
        let queue = WorkQueue<String>()
        await queue.push("a")
        await queue.push("a")
        #expect(await queue.depth == 1)
        #expect(await queue.pop() == "a")
        await queue.done("a")
        #expect(await queue.isIdle)
    }

    /// Review item 10: a repeat notice for a busy path is kept even when the queue filled up meanwhile.
    @Test func aRepeatNoticeIsKeptWhenTheQueueIsFull() async throws {
        let queue = WorkQueue<String>(capacity: 1)
        await queue.push("a")
        #expect(await queue.pop() == "a")
        await queue.push("a")
        #expect(await queue.push("b"))
        #expect(await queue.push("c") == false)
        await queue.done("a")
        #expect(await queue.pop() == "b")
        await queue.done("b")
        #expect(await queue.pop() == "a")
        await queue.done("a")
        #expect(await queue.isIdle)
    }

    /// The queue says when it runs dry (renditions, which yield to ingest, look again then): once per idle
    /// moment, when the last item in progress is done, not while work is left.
    @Test func theQueueSaysWhenItBecomesIdle() async throws {
        let calls = Atomic<Int>(0)
        let queue = WorkQueue<String>(becameIdle: { calls.add(1, ordering: .relaxed) })
        await queue.push("a")
        await queue.push("b")
        #expect(await queue.pop() == "a")
        await queue.done("a")
        #expect(calls.load(ordering: .relaxed) == 0, "b still waits")
        #expect(await queue.pop() == "b")
        await queue.done("b")
        #expect(calls.load(ordering: .relaxed) == 1)
    }
}
