import Foundation
import GRDB

/// How an `Asset` maps onto a row of the `assets` table: times as integer milliseconds,
/// media metadata as a JSON text column (`NULL` when not probed yet).
extension Asset {
    /// The columns `init(catalogRow:)` reads, in the order it reads them.
    static let selectColumns = """
        id, project_id, filename, original_filename, relative_path, checksum, size_bytes, mime_type, \
        status, thumbnail_path, metadata, error, created_at, updated_at
        """

    /// Decodes a row selected with `selectColumns`; pass one `decoder` when reading many rows.
    init(catalogRow row: Row, decoder: JSONDecoder = JSONDecoder()) throws {
        let id: String = row[0]
        let statusText: String = row[8]
        guard let status = AssetStatus(rawValue: statusText) else {
            throw StorageError.invalidValue("assets.status", statusText, "unknown status of asset \(id)")
        }
        var metadata: MediaMetadata?
        if let json: String = row[10] {
            do {
                metadata = try MediaMetadata(catalogJSON: json, decoder: decoder)
            } catch {
                throw StorageError.invalidValue("assets.metadata", json, "not media metadata JSON of asset \(id)")
            }
        }
        self.init(
            id: id,
            projectID: row[1],
            filename: row[2],
            originalFilename: row[3],
            relativePath: row[4],
            checksum: row[5],
            sizeBytes: row[6],
            mimeType: row[7],
            status: status,
            thumbnailPath: row[9],
            metadata: metadata,
            error: row[11],
            createdAt: ISO8601Millis.date(milliseconds: row[12]),
            updatedAt: ISO8601Millis.date(milliseconds: row[13])
        )
    }

    /// The values for `id, project_id, …, updated_at` (the order of `selectColumns`).
    func catalogValues() throws -> [(any DatabaseValueConvertible)?] {
        var metadataJSON: String?
        if let metadata { metadataJSON = try metadata.catalogJSON() }
        return [
            id, projectID, filename, originalFilename, relativePath, checksum, sizeBytes, mimeType,
            status.rawValue, thumbnailPath, metadataJSON, error,
            ISO8601Millis.milliseconds(createdAt), ISO8601Millis.milliseconds(updatedAt),
        ]
    }
}
