import Foundation
import Logging

extension Ingestor {
    /// Ingests a file an HTTP client uploaded into staging (already hashed while it streamed in).
    public func ingestUpload(
        staged: String,
        originalFilename: String,
        project: ProjectID,
        size: Int64,
        checksum: String,
        policy: IngestPolicy
    ) -> IngestOutcome {
        // The name the client gave, as text (escapes that are not UTF-8 were read as U+FFFD): its bytes are that text's.
        let name = Array(originalFilename.utf8)
        return ingestingNewAsset("upload ingest", file: originalFilename, shown: originalFilename) { assetID in
            let move = try journal(
                PendingMove(
                    id: 0,
                    assetID: assetID,
                    projectID: project.rawValue,
                    sourcePath: "",
                    stagingPath: staged,
                    targetRelativePath: nil,
                    stage: .upload,
                    createdAt: ISO8601Millis.now()
                )
            )
            if size == 0 {
                return try rejectStaged(staged, .empty, "the upload is empty", name, project, move)
            }
            if policy.projectQuotaBytes > 0 {
                let used = try catalog.uploadBytes(project: project)
                if used + size > policy.projectQuotaBytes {
                    return try rejectStaged(
                        staged,
                        .quotaExceeded,
                        "project \(project) holds \(used) bytes; this file's \(size) bytes would pass PROJECT_QUOTA_BYTES=\(policy.projectQuotaBytes)",
                        name,
                        project,
                        move
                    )
                }
            }
            let fd = try FileOps.openForReading(staged)
            defer { close(fd) }
            return try finish(
                staged: staged,
                fd: fd,
                name: name,
                project: project,
                size: size,
                checksum: checksum,
                move: move,
                copiedFrom: nil,
                policy: policy,
                displayName: originalFilename
            )
        }
    }
}
