import Foundation
import Testing

@testable import StorageKit

@Suite struct ThreadNiceTests {
    /// Runs `body` on a new thread and returns what it returned.
    private func onNewThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try body() }) }.start()
        }
    }

    @Test("raising a thread's nice value leaves the others alone, and threads it starts inherit it")
    func raisedForOneThreadAndItsChildren() async throws {
        let outside = try await onNewThread { try ThreadNice.current }
        let (raised, child) = try await onNewThread { () throws -> (Int32, Int32) in
            let before = try ThreadNice.current
            try ThreadNice.set(min(19, before + 3))
            let raised = try ThreadNice.current
            let child = ChildResult()
            Thread {
                child.value = (try? ThreadNice.current) ?? -100
                child.done.signal()
            }.start()
            child.done.wait()
            return (raised - before, child.value)
        }
        #expect(raised == min(3, 19 - outside))
        #expect(child == outside + raised)
        #expect(try await onNewThread { try ThreadNice.current } == outside)
    }

    @Test("lowering below the current value without the privilege is an error naming the call")
    func loweringNeedsPrivilege() async throws {
        guard geteuid() != 0 else { return }
        let message = try await onNewThread { () -> String in
            try ThreadNice.set(min(19, try ThreadNice.current + 1))
            do {
                try ThreadNice.set(-5)
                return "no error"
            } catch { return "\(error)" }
        }
        #expect(message.contains("setpriority"), "\(message)")
    }
}

/// What a child thread saw, read after `done` is signalled (the semaphore orders the write before the read).
private final class ChildResult: @unchecked Sendable {
    var value: Int32 = -100
    let done = DispatchSemaphore(value: 0)
}
