import Foundation
import Synchronization

/// Coalesces flushes (`fsync`, `fdatasync`) that several threads ask for at once, as a database's group commit
/// does. A caller returns once a flush that *began after its call* has ended, so everything it wrote before
/// the call is on disk; callers that arrive while a flush runs wait for it and share the next one. A disk
/// that takes a few milliseconds per flush otherwise queues one flush per caller.
final class GroupFlush: @unchecked Sendable {
    // Every stored property below is read and written only with `condition` locked.
    private let condition = NSCondition()
    /// Tickets handed out: one per call.
    private var requested: UInt64 = 0
    /// Every ticket up to this one is covered by a finished flush.
    private var flushed: UInt64 = 0
    private var flushing = false

    init() {}

    /// Returns once `perform` (run here, or by another caller) began after this call and ended; rethrows the
    /// error of the run this call made itself.
    func flush(_ perform: () throws -> Void) throws {
        condition.lock()
        defer { condition.unlock() }
        requested += 1
        let ticket = requested
        while flushed < ticket {
            if flushing {
                condition.wait()
                continue
            }
            flushing = true
            let covered = requested
            condition.unlock()
            let outcome = Result { try perform() }
            condition.lock()
            flushing = false
            if case .success = outcome { flushed = max(flushed, covered) }
            condition.broadcast()
            try outcome.get()
        }
    }
}

/// `fsync(2)` of folders after renames in them, coalesced per folder (``GroupFlush``): a burst of files placed
/// into one project folder shares its flushes.
enum DirectorySync {
    private static let groups = Mutex<[String: GroupFlush]>([:])

    /// Makes the entries renamed into or out of `path` before this call durable.
    static func sync(_ path: String) {
        let group = groups.withLock { groups in
            if let group = groups[path] { return group }
            let made = GroupFlush()
            groups[path] = made
            return made
        }
        try? group.flush { FileOps.syncDirectory(path) }
    }
}
