import Foundation

/// How an `Asset` maps onto a row of the `assets` table: times as integer milliseconds,
/// media metadata as a JSON text column (`NULL` when not probed yet).
extension Asset {
    /// The columns `init(catalogRow:)` reads, in the order it reads them.
    static let selectColumns = """
        id, project_id, filename, original_filename, relative_path, checksum, size_bytes, mime_type, \
        status, thumbnail_path, metadata, error, created_at, updated_at, renditions, sprite
        """

    /// Decodes a row selected with `selectColumns`; pass one `decoder` when reading many rows.
    init(catalogRow row: CatalogRow, decoder: JSONDecoder = JSONDecoder()) throws {
        let id: String = try row.get(0)
        let statusText: String = try row.get(8)
        guard let status = AssetStatus(rawValue: statusText) else {
            throw StorageError.invalidValue("assets.status", statusText, "unknown status of asset \(id)")
        }
        var metadata: MediaMetadata?
        if let json: String = try row.optional(10) {
            do {
                metadata = try MediaMetadata(catalogJSON: json, decoder: decoder)
            } catch {
                throw StorageError.invalidValue("assets.metadata", json, "not media metadata JSON of asset \(id)")
            }
        }
        var renditions: [Rendition] = []
        if let json: String = try row.optional(14), json != "[]" {
            do {
                renditions = try decoder.decode([Rendition].self, from: Data(json.utf8))
            } catch {
                throw StorageError.invalidValue("assets.renditions", json, "not a renditions list of asset \(id)")
            }
        }
        var sprite: SpriteSheet?
        if let json: String = try row.optional(15) {
            do {
                sprite = try decoder.decode(SpriteSheet.self, from: Data(json.utf8))
            } catch {
                throw StorageError.invalidValue("assets.sprite", json, "not a sprite sheet of asset \(id)")
            }
        }
        self.init(
            id: id,
            projectID: try row.get(1),
            filename: try row.get(2),
            originalFilename: try row.get(3),
            relativePath: try row.get(4),
            checksum: try row.get(5),
            sizeBytes: try row.get(6),
            mimeType: try row.get(7),
            status: status,
            thumbnailPath: try row.optional(9),
            metadata: metadata,
            renditions: renditions,
            sprite: sprite,
            error: try row.optional(11),
            createdAt: ISO8601Millis.date(milliseconds: try row.get(12)),
            updatedAt: ISO8601Millis.date(milliseconds: try row.get(13))
        )
    }

    /// The values for `id, project_id, …, sprite` (the order of `selectColumns`).
    func catalogValues() throws -> [any CatalogBindable] {
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
