import Synchronization

/// A one-way gate: closed until `open()`, then open for ever. `wait()` returns once it is open, or at once
/// when the waiting task is cancelled. Replaces "sleep and look again" loops wherever one task waits for
/// another to reach a point (a drain cut short, a job ended).
///
/// A doorbell that is only ever closed: its close lets every waiter through, now and later.
final class Latch: Sendable {
    private let bell = Doorbell()

    init() {}

    /// Whether `open()` was called.
    var isOpen: Bool { bell.isClosed }

    /// Opens the gate and lets every waiter through.
    func open() { bell.close() }

    /// Returns once the gate is open, or when the calling task is cancelled.
    func wait() async { await bell.wait(after: bell.generation) }
}

/// Runs `body` until it returns or `limit` passes, whichever comes first (then `body`'s task is cancelled and
/// awaited). Returns `true` when `body` returned in time.
func withTimeLimit(_ limit: Duration, _ body: @escaping @Sendable () async -> Void) async -> Bool {
    await withTaskGroup(of: Bool.self) { group in
        group.addTask {
            await body()
            return true
        }
        group.addTask {
            try? await Task.sleep(for: limit)
            return false
        }
        let first = await group.next() ?? false
        group.cancelAll()
        return first
    }
}
