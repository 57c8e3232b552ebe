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
    /// The last flush that failed, and the tickets it was to cover: those callers get its error. (Linux tells
    /// a writeback error once: a later flush of the same file may succeed without their data being on disk.)
    private var failed: (upTo: UInt64, error: any Error)?
    private var flushing = false

    init() {}

    /// Calls made so far (tests: a flush can wait until the callers it must not cover have come).
    var calls: UInt64 {
        condition.lock()
        defer { condition.unlock() }
        return requested
    }

    /// Returns once `perform` (run here, or by another caller) began after this call and ended; throws the
    /// error of the run that was to cover this call when it failed.
    func flush(_ perform: () throws -> Void) throws {
        condition.lock()
        defer { condition.unlock() }
        requested += 1
        let ticket = requested
        while flushed < ticket {
            if let failed, failed.upTo >= ticket { throw failed.error }
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
            switch outcome {
            case .success: flushed = max(flushed, covered)
            case .failure(let error): failed = (covered, error)
            }
            condition.broadcast()
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
