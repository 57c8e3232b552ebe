import Foundation
import GRDB

/// The SQL of the `assets` table. Every function runs on a connection the caller holds, so the
/// same code serves single calls and `Catalog.write` transactions.
enum AssetTable {
    static func insert(_ asset: Asset, _ db: Database) throws {
        let statement = try db.cachedStatement(
            sql: "INSERT INTO assets (\(Asset.selectColumns)) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
        )
        do {
            try statement.execute(arguments: StatementArguments(asset.catalogValues()))
        } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
            throw StorageError.conflict(
                "asset \(asset.id) (\(asset.relativePath)) clashes with a stored asset of the same id or "
                    + "relative_path: \(error.message ?? "constraint failed")"
            )
        }
    }

    static func update(_ asset: Asset, _ db: Database) throws {
        let statement = try db.cachedStatement(
            sql: """
                UPDATE assets SET project_id = ?, filename = ?, original_filename = ?, relative_path = ?,
                    checksum = ?, size_bytes = ?, mime_type = ?, status = ?, thumbnail_path = ?, metadata = ?,
                    error = ?, created_at = ?, updated_at = ?, renditions = ?, sprite = ?
                WHERE id = ?
                """
        )
        var values = try asset.catalogValues()
        // catalogValues starts with the id; the UPDATE wants it last.
        values.append(values.removeFirst())
        do {
            try statement.execute(arguments: StatementArguments(values))
        } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
            throw StorageError.conflict(
                "asset \(asset.id): relative_path \(asset.relativePath) already belongs to another asset"
            )
        }
        guard db.changesCount > 0 else { throw StorageError.assetNotFound(asset.id) }
    }

    static func asset(id: String, _ db: Database) throws -> Asset? {
        let statement = try db.cachedStatement(sql: "SELECT \(Asset.selectColumns) FROM assets WHERE id = ?")
        return try Row.fetchOne(statement, arguments: [id]).map { try Asset(catalogRow: $0) }
    }

    static func delete(id: String, _ db: Database) throws -> Asset? {
        guard let asset = try asset(id: id, db) else { return nil }
        try db.execute(sql: "DELETE FROM assets WHERE id = ?", arguments: [id])
        return asset
    }

    static func deleteProject(_ project: ProjectID, _ db: Database) throws -> Int {
        try db.execute(sql: "DELETE FROM assets WHERE project_id = ?", arguments: [project.rawValue])
        return db.changesCount
    }

    static func list(project: ProjectID, limit: Int?, after: String?, _ db: Database) throws -> [Asset] {
        if let limit, limit < 0 {
            throw StorageError.invalidValue("limit", String(limit), "must be 0 or more")
        }
        // SQLite reads LIMIT -1 as "no limit".
        let limitValue = limit ?? -1
        guard let after else {
            let statement = try db.cachedStatement(
                sql: """
                    SELECT \(Asset.selectColumns) FROM assets WHERE project_id = ?
                    ORDER BY created_at, rowid LIMIT ?
                    """
            )
            return try fetch(statement, [project.rawValue, limitValue])
        }
        let cursor = try db.cachedStatement(
            sql: "SELECT created_at, rowid FROM assets WHERE id = ? AND project_id = ?"
        )
        guard let position = try Row.fetchOne(cursor, arguments: [after, project.rawValue]) else {
            throw StorageError.unknownCursor(after, project: project.rawValue)
        }
        let createdAt: Int64 = position[0]
        let rowid: Int64 = position[1]
        // The row value comparison walks the (project_id, created_at[, rowid]) index from the cursor on.
        let statement = try db.cachedStatement(
            sql: """
                SELECT \(Asset.selectColumns) FROM assets
                WHERE project_id = ? AND (created_at, rowid) > (?, ?)
                ORDER BY created_at, rowid LIMIT ?
                """
        )
        return try fetch(statement, [project.rawValue, createdAt, rowid, limitValue])
    }

    static func latest(project: ProjectID, limit: Int, _ db: Database) throws -> [Asset] {
        guard limit >= 0 else { throw StorageError.invalidValue("limit", String(limit), "must be 0 or more") }
        let statement = try db.cachedStatement(
            sql: """
                SELECT \(Asset.selectColumns) FROM assets WHERE project_id = ?
                ORDER BY created_at DESC, rowid DESC LIMIT ?
                """
        )
        return try fetch(statement, [project.rawValue, limit]).reversed()
    }

    static func existing(project: ProjectID, checksum: String, _ db: Database) throws -> Asset? {
        let statement = try db.cachedStatement(
            sql: """
                SELECT \(Asset.selectColumns) FROM assets
                WHERE project_id = ? AND checksum = ? AND status IN ('ready', 'processing')
                ORDER BY created_at, rowid LIMIT 1
                """
        )
        return try Row.fetchOne(statement, arguments: [project.rawValue, checksum]).map { try Asset(catalogRow: $0) }
    }

    static func assets(status: AssetStatus, _ db: Database) throws -> [Asset] {
        let statement = try db.cachedStatement(
            sql: "SELECT \(Asset.selectColumns) FROM assets WHERE status = ? ORDER BY created_at, rowid"
        )
        return try fetch(statement, [status.rawValue])
    }

    static func all(_ db: Database) throws -> [Asset] {
        let statement = try db.cachedStatement(
            sql: "SELECT \(Asset.selectColumns) FROM assets ORDER BY created_at, rowid"
        )
        return try fetch(statement, [])
    }

    static func uploadBytes(project: ProjectID, _ db: Database) throws -> Int64 {
        let statement = try db.cachedStatement(
            sql: "SELECT COALESCE(SUM(size_bytes), 0) FROM assets WHERE project_id = ? AND status != 'failed'"
        )
        return try Int64.fetchOne(statement, arguments: [project.rawValue]) ?? 0
    }

    static func missingThumbnail(maxAttempts: Int, _ db: Database) throws -> [Asset] {
        let statement = try db.cachedStatement(
            sql: """
                SELECT \(Asset.selectColumns) FROM assets
                WHERE status = 'ready' AND thumbnail_path IS NULL AND thumbnail_attempts < ?
                ORDER BY created_at, rowid
                """
        )
        return try fetch(statement, [maxAttempts])
    }

    static func crashedThumbnails(maxAttempts: Int, _ db: Database) throws -> [Asset] {
        let statement = try db.cachedStatement(
            sql: """
                SELECT \(Asset.selectColumns) FROM assets
                WHERE status = 'ready' AND thumbnail_path IS NULL AND thumbnail_attempts >= ?
                ORDER BY created_at, rowid
                """)
        return try fetch(statement, [maxAttempts])
    }

    static func interruptedThumbnails(maxAttempts: Int, _ db: Database) throws -> [Asset] {
        let statement = try db.cachedStatement(
            sql: """
                SELECT \(Asset.selectColumns) FROM assets
                WHERE status = 'ready' AND thumbnail_path IS NULL AND thumbnail_attempts BETWEEN 1 AND ?
                ORDER BY created_at, rowid
                """)
        return try fetch(statement, [maxAttempts - 1])
    }

    static func beginThumbnailAttempt(id: String, _ db: Database) throws -> Int {
        try db.execute(
            sql: "UPDATE assets SET thumbnail_attempts = thumbnail_attempts + 1 WHERE id = ?",
            arguments: [id]
        )
        guard db.changesCount > 0,
            let attempts = try Int.fetchOne(
                db,
                sql: "SELECT thumbnail_attempts FROM assets WHERE id = ?",
                arguments: [id]
            )
        else { throw StorageError.assetNotFound(id) }
        return attempts
    }

    static func resetThumbnailAttempts(id: String, _ db: Database) throws {
        try db.execute(sql: "UPDATE assets SET thumbnail_attempts = 0 WHERE id = ?", arguments: [id])
        guard db.changesCount > 0 else { throw StorageError.assetNotFound(id) }
    }

    private static func fetch(_ statement: Statement, _ arguments: StatementArguments) throws -> [Asset] {
        var out: [Asset] = []
        let decoder = JSONDecoder()
        let rows = try Row.fetchCursor(statement, arguments: arguments)
        while let row = try rows.next() { out.append(try Asset(catalogRow: row, decoder: decoder)) }
        return out
    }
}
