import Logging
import StorageKit

extension RecoverySummary {
    /// Whether recovery (or a take-over) found nothing to do.
    var isEmpty: Bool { self == RecoverySummary() }

    /// What recovery did, as the fields of its log line.
    var logMetadata: Logger.Metadata {
        [
            "returned_to_drop": "\(returnedToDrop)", "finished": "\(finished.count)",
            "records_removed": "\(recordsRemoved)", "abandoned_uploads": "\(abandonedUploads)",
            "temporary_files_removed": "\(temporaryFilesRemoved)", "quarantined": "\(quarantined.count)",
            "unrecovered_records": "\(unrecoveredRecords.joined(separator: ", "))",
            "left_for_their_node": "\(leftForTheirNode)",
            "purges_finished": "\(purgesFinished.map(\.projectID).joined(separator: ", "))",
        ]
    }
}
