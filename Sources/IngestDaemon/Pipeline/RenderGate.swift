/// Lets thumbnail renders run side by side, or one alone. A render that must run alone waits until the others
/// have finished and keeps new ones out until it is done; entries are admitted in arrival order, so neither
/// kind starves.
///
/// Why: when the daemon dies mid-decode, every render in flight had its attempt counted. Rendering those
/// suspects one at a time afterwards charges a second death to the asset that caused it and to no other.
actor RenderGate {
    private var running = 0
    private var alone = false
    private var waiting: [(alone: Bool, continuation: CheckedContinuation<Void, Never>)] = []

    /// Waits until a render (`alone`: with no other beside it) may start.
    func enter(alone wantsAlone: Bool) async {
        if waiting.isEmpty, admits(wantsAlone) {
            admit(wantsAlone)
            return
        }
        await withCheckedContinuation { waiting.append((wantsAlone, $0)) }
    }

    /// A render that entered with `alone` has finished.
    func leave(alone wasAlone: Bool) {
        running -= 1
        if wasAlone { alone = false }
        while let first = waiting.first, admits(first.alone) {
            waiting.removeFirst()
            admit(first.alone)
            first.continuation.resume()
        }
    }

    private func admits(_ wantsAlone: Bool) -> Bool { !alone && (!wantsAlone || running == 0) }

    private func admit(_ wantsAlone: Bool) {
        running += 1
        if wantsAlone { alone = true }
    }
}
