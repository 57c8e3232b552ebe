import NIOHTTP1
import StorageKit

/// What the control server asks of the daemon: the server only speaks HTTP, the backend does the work.
///
/// Every JSON body the server sends comes from a value returned here, encoded with a `JSONEncoder` that does not
/// escape slashes. Methods that throw may throw ``ControlAPIError`` (status and body chosen by the backend) or
/// `StorageError`; ``ControlAPIError/init(mapping:)`` turns anything else into a response in one place.
protocol ControlBackend: Sendable {
    /// `GET /health`: the SPEC's shape; `status` may be `"degraded"` with a reason.
    func health() async -> any Encodable & Sendable
    /// `GET /projects`: every project with a record or a rejected file, sorted by id.
    func projects() async throws -> [ProjectSummary]
    /// `GET`/`HEAD …/{asset_id}/content|thumbnail|renditions/{name}|sprite.jpg|sprite.vtt`: the stored file the
    /// asset's record names for `item` (``Deliverable/resolve(asset:item:root:)``); throws a 404
    /// ``ControlAPIError`` when the asset or that file of it does not exist.
    func deliverable(project: ProjectID, id: String, item: AssetFileItem) async throws -> Deliverable
    /// `GET /storage/stats` (`project == nil`) and `GET /projects/{id}/storage/stats`.
    func storageStats(project: ProjectID?) async throws -> any Encodable & Sendable
    /// `GET /projects/{id}/videos`: oldest first; `after` is the id of the last asset of the previous page.
    func listAssets(project: ProjectID, limit: Int?, after: String?) async throws -> [Asset]
    /// `GET /projects/{id}/videos/{asset_id}`: `nil` answers 404.
    func asset(project: ProjectID, id: String) async throws -> Asset?
    /// `DELETE /projects/{id}/videos/{asset_id}`: `false` answers 404.
    func deleteAsset(project: ProjectID, id: String) async throws -> Bool
    /// `DELETE /projects/{id}/storage`: `{"project_id","files_removed","bytes_freed"}`.
    func purgeProject(_ project: ProjectID) async throws -> any Encodable & Sendable
    /// `POST /rescan`: queue a scan of the drop directory; the server answers 202 at once.
    func rescan() async
    /// `POST /repair` (`?dry_run=1` reports without changing anything): a summary of each kind of fix.
    func repair(dryRun: Bool) async throws -> any Encodable & Sendable
    /// `GET /projects/{id}/rejected`: an array of rejected files with their reasons.
    func rejected(project: ProjectID) async throws -> any Encodable & Sendable
    /// `POST /projects/{id}/rejected/{name}/retry`: `false` answers 404.
    func retryRejected(project: ProjectID, name: String) async throws -> Bool
    /// `GET /events`: each element is one complete NDJSON line including its `"\n"`.
    ///
    /// The stream ends when the daemon stops. The server stops iterating (cancels) when the client disconnects, so
    /// the stream's `onTermination` is where a subscription is released. Buffer with `.bufferingNewest` so a slow
    /// reader never blocks the daemon.
    func events(since: Int64?) async throws -> AsyncStream<[UInt8]>
    /// `GET /metrics`: Prometheus text exposition format.
    func metrics() async -> String
    /// Limits the upload route checks before and while it streams a body.
    var uploadLimits: UploadLimits { get async }
    /// `POST /projects/{id}/videos`: the body is complete in `stagedFile` (inside `uploadLimits.stagingDirectory`).
    ///
    /// The backend takes the file through the same pipeline as a dropped one. A backend that keeps the staged file
    /// must move it away (rename) before returning: after this call returns or throws the server unlinks
    /// `stagedFile` if it still exists. `originalFilename` is already reduced to a last path component without
    /// NUL or control characters; sanitize again before using it in a path.
    func ingestUpload(
        project: ProjectID,
        originalFilename: String,
        stagedFile: String,
        size: Int64,
        sha256: String
    ) async throws -> UploadOutcome
}

/// The upload route's limits, read once per upload request.
struct UploadLimits: Sendable, Equatable {
    /// `UPLOAD_MAX_SIZE`: a body past it is refused with 413.
    var maxSize: Int64
    /// `ALLOWED_EXTENSIONS`, compared case-insensitively (a leading dot is ignored).
    var allowedExtensions: [String]
    /// Where bodies are streamed before the backend takes them; created (0750) if missing.
    var stagingDirectory: String
    /// `MIN_FREE_BYTES`: an upload that would leave less free space on the storage filesystem is refused (507).
    var minFreeBytes: Int64

    init(maxSize: Int64, allowedExtensions: [String], stagingDirectory: String, minFreeBytes: Int64 = 0) {
        self.maxSize = maxSize
        self.allowedExtensions = allowedExtensions
        self.stagingDirectory = stagingDirectory
        self.minFreeBytes = minFreeBytes
    }

    /// Whether `filename`'s extension (after its last dot) is allowed.
    func allows(filename: String) -> Bool {
        guard let ext = UploadFilename.fileExtension(of: filename) else { return false }
        return allowedExtensions.contains { allowed in
            (allowed.hasPrefix(".") ? String(allowed.dropFirst()) : allowed).lowercased() == ext
        }
    }
}

/// What became of an uploaded file.
///
/// `rejected` is answered with `{"error": reason, "detail": detail}` and a status chosen by
/// ``UploadOutcome/status(forRejection:)``: 409 for `duplicate` and `quota_exceeded`, 413 for `too_large`, 415 for
/// `extension_not_allowed`, 422 for every other reason (`not_media`, `no_video`, `truncated`, `empty`, …).
enum UploadOutcome: Sendable {
    case stored(Asset)
    case rejected(Rejection)

    /// The HTTP status that answers a rejection with `reason`.
    static func status(forRejection reason: RejectionReason) -> HTTPResponseStatus {
        switch reason {
        case .duplicate, .quotaExceeded: .conflict
        case .tooLarge: .payloadTooLarge
        case .extensionNotAllowed: .unsupportedMediaType
        case .empty, .notMedia, .noVideo, .truncated, .symlink, .specialFile, .hardLinks, .invalidProject:
            .unprocessableEntity
        }
    }
}
