import Foundation
import GRDB

/// How an `Asset` maps onto a row of the `assets` table: times as integer milliseconds,
/// media metadata as a JSON text column (`NULL` when not probed yet).
extension Asset {
    /// The columns `init(catalogRow:)` reads, in the order it reads them.
    static let selectColumns = """
        id, project_id, filename, original_filename, relative_path, checksum, size_bytes, mime_type, \
        status, thumbnail_path, metadata, error, created_at, updated_at, renditions, sprite
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
        var renditions: [Rendition] = []
        if let json: String = row[14], json != "[]" {
            do {
                renditions = try decoder.decode([Rendition].self, from: Data(json.utf8))
            } catch {
                throw StorageError.invalidValue("assets.renditions", json, "not a renditions list of asset \(id)")
            }
        }
        var sprite: SpriteSheet?
        if let json: String = row[15] {
            do {
                sprite = try decoder.decode(SpriteSheet.self, from: Data(json.utf8))
            } catch {
                throw StorageError.invalidValue("assets.sprite", json, "not a sprite sheet of asset \(id)")
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
            renditions: renditions,
            sprite: sprite,
            error: row[11],
            createdAt: ISO8601Millis.date(milliseconds: row[12]),
            updatedAt: ISO8601Millis.date(milliseconds: row[13])
        )
    }

    /// The values for `id, project_id, …, sprite` (the order of `selectColumns`).
    func catalogValues() throws -> [(any DatabaseValueConvertible)?] {
        var metadataJSON: String?
        if let metadata { metadataJSON = try metadata.catalogJSON() }
        return [
            id, projectID, filename, originalFilename, relativePath, checksum, sizeBytes, mimeType,
            status.rawValue, thumbnailPath, metadataJSON, error,
            ISO8601Millis.milliseconds(createdAt), ISO8601Millis.milliseconds(updatedAt),
            String(decoding: renditions.orderedJSON, as: UTF8.self),
            sprite.map { String(decoding: $0.orderedJSON, as: UTF8.self) },
        ]
    }
}
