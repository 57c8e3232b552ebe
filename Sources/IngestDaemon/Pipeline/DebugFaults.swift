import Foundation
import StorageKit

#if DEBUG
/// Fault injection for the end-to-end tests of debug builds only (release builds have none of it): a delay
/// and a simulated decoder crash at the start of a thumbnail render, a delay before each ingest, and a hold of
/// a purge once its records are gone, set through the environment.
enum DebugFaults {
    /// `INGESTD_DEBUG_INGEST_DELAY_MS`: every ingest of a dropped file waits this long (blocking its thread)
    /// before it starts, so that a stop finds a file in flight.
    static let ingestDelay: Duration? = ProcessInfo.processInfo.environment["INGESTD_DEBUG_INGEST_DELAY_MS"]
        .flatMap(Int.init).map { .milliseconds($0) }

    /// Called on a blocking thread before a dropped file is ingested.
    static func ingestStarts() {
        if let ingestDelay {
            // Said on stderr, so that a test knows a file is in flight without catching a state in a poll.
            FileHandle.standardError.write(Data("ingestd debug: an ingest is held for \(ingestDelay)\n".utf8))
            let (seconds, attoseconds) = ingestDelay.components
            Thread.sleep(forTimeInterval: Double(seconds) + Double(attoseconds) / 1e18)
        }
    }

    /// `INGESTD_DEBUG_PURGE_HOLD_MS`: a project purge waits this long (blocking its thread) once its records'
    /// transaction has committed, before any file is removed, so that a kill lands at that instant.
    static let purgeHold: Duration? = ProcessInfo.processInfo.environment["INGESTD_DEBUG_PURGE_HOLD_MS"]
        .flatMap(Int.init).map { .milliseconds($0) }

    /// Called on a blocking thread as a purge reaches `step`.
    static func purgeReached(_ step: ProjectPurge.Step) {
        guard step == .recordsRemoved, let purgeHold else { return }
        FileHandle.standardError.write(Data("ingestd debug: a purge is held for \(purgeHold)\n".utf8))
        let (seconds, attoseconds) = purgeHold.components
        Thread.sleep(forTimeInterval: Double(seconds) + Double(attoseconds) / 1e18)
    }

    /// `INGESTD_DEBUG_THUMBNAIL_DELAY_MS`: every render waits this long after its attempt is counted.
    static let thumbnailDelay: Duration? = ProcessInfo.processInfo.environment["INGESTD_DEBUG_THUMBNAIL_DELAY_MS"]
        .flatMap(Int.init).map { .milliseconds($0) }
    /// `INGESTD_DEBUG_THUMBNAIL_CRASH`: a render of a file whose original name contains this text kills the
    /// process with a trap (SIGILL, as an overflow in the size math did) once the delay has passed.
    static let thumbnailCrash: String? = ProcessInfo.processInfo.environment["INGESTD_DEBUG_THUMBNAIL_CRASH"]

    /// Called when a render of `originalFilename` has counted its attempt and is about to decode.
    static func thumbnailRenderStarts(_ originalFilename: String) async {
        if let thumbnailDelay { try? await Task.sleep(for: thumbnailDelay) }
        if let thumbnailCrash, !thumbnailCrash.isEmpty, originalFilename.contains(thumbnailCrash) {
            fatalError("simulated decoder crash (INGESTD_DEBUG_THUMBNAIL_CRASH)")
        }
    }
}
#endif
