import Foundation

/// How an `Asset` maps onto a row of the `assets` table: times as integer milliseconds,
/// media metadata as a JSON text column (`NULL` when not probed yet).
extension Asset {
    /// The columns of the `assets` table that a record maps, in the order of ``catalogValues()``: the record's
    /// own field names.
    typealias Column = CodingKeys

    /// The columns `init(catalogRow:)` reads, in the order it reads them.
    static let selectColumns = Column.list

    /// Decodes a row selected with `selectColumns`; pass one `decoder` when reading many rows.
    init(catalogRow row: CatalogRow, decoder: JSONDecoder = JSONDecoder()) throws {
        let id: String = try row.get(Column.id)
        let statusText: String = try row.get(Column.status)
        guard let status = AssetStatus(rawValue: statusText) else {
            throw StorageError.invalidValue("assets.status", statusText, "unknown status of asset \(id)")
        }
        var metadata: MediaMetadata?
        if let json: String = try row.optional(Column.metadata) {
            do {
                metadata = try MediaMetadata(catalogJSON: json, decoder: decoder)
            } catch {
                throw StorageError.invalidValue("assets.metadata", json, "not media metadata JSON of asset \(id)")
            }
        }
        var renditions: [Rendition] = []
        if let json: String = try row.optional(Column.renditions), json != "[]" {
            do {
                renditions = try decoder.decode([Rendition].self, from: Data(json.utf8))
            } catch {
                throw StorageError.invalidValue("assets.renditions", json, "not a renditions list of asset \(id)")
            }
        }
        var sprite: SpriteSheet?
        if let json: String = try row.optional(Column.sprite) {
            do {
                sprite = try decoder.decode(SpriteSheet.self, from: Data(json.utf8))
            } catch {
                throw StorageError.invalidValue("assets.sprite", json, "not a sprite sheet of asset \(id)")
            }
        }
        self.init(
            id: id,
            projectID: try row.get(Column.projectID),
            filename: try row.get(Column.filename),
            originalFilename: try row.get(Column.originalFilename),
            relativePath: try row.get(Column.relativePath),
            checksum: try row.get(Column.checksum),
            sizeBytes: try row.get(Column.sizeBytes),
            mimeType: try row.get(Column.mimeType),
            status: status,
            thumbnailPath: try row.optional(Column.thumbnailPath),
            metadata: metadata,
            renditions: renditions,
            sprite: sprite,
            error: try row.optional(Column.error),
            createdAt: ISO8601Millis.date(milliseconds: try row.get(Column.createdAt)),
            updatedAt: ISO8601Millis.date(milliseconds: try row.get(Column.updatedAt))
        )
    }

    /// The values of ``Column``, in its order.
    func catalogValues() throws -> [any CatalogBindable] {
        var metadataJSON: String?
        if let metadata { metadataJSON = try metadata.catalogJSON() }
        return [
            id, projectID, filename, originalFilename, relativePath, checksum, sizeBytes, mimeType,
            status.rawValue, thumbnailPath, metadataJSON,
            String(decoding: renditions.orderedJSON, as: UTF8.self),
            sprite.map { String(decoding: $0.orderedJSON, as: UTF8.self) },
            error, ISO8601Millis.milliseconds(createdAt), ISO8601Millis.milliseconds(updatedAt),
        ]
    }
}

extension Asset.CodingKeys: CatalogColumns {
    static let table = "assets"
}
