import Foundation

/// The SQL of the `assets` table. Every function runs on a connection the caller holds, so the
/// same code serves single calls and `Catalog.write` transactions, on SQLite and on PostgreSQL.
enum AssetTable {
    /// `LIMIT` for "all rows" (both engines accept the largest 64-bit integer).
    static let noLimit = Int64.max

    static func insert(_ asset: Asset, _ db: any CatalogConnection) throws {
        do {
            try db.execute(
                "INSERT INTO assets (\(Asset.Column.list)) VALUES (\(Asset.Column.bindMarkers))",
                try asset.catalogValues()
            )
        } catch let error as CatalogConstraintViolation {
            throw StorageError.conflict(
                "asset \(asset.id) (\(asset.relativePath)) clashes with a stored asset of the same id or "
                    + "relative_path: \(error.message)"
            )
        }
    }

    static func update(_ asset: Asset, _ db: any CatalogConnection) throws {
        var values = try asset.catalogValues()
        // catalogValues starts with the id; the UPDATE wants it last.
        values.append(values.removeFirst())
        let changed: Int
        do {
            changed = try db.execute("UPDATE assets SET \(updateAssignments) WHERE id = ?", values)
        } catch is CatalogConstraintViolation {
            throw StorageError.conflict(
                "asset \(asset.id): relative_path \(asset.relativePath) already belongs to another asset"
            )
        }
        guard changed > 0 else { throw StorageError.assetNotFound(asset.id) }
    }

    /// `project_id = ?, …, sprite = ?`: every column but the id.
    private static let updateAssignments = Asset.Column.allCases.dropFirst().map { "\($0.rawValue) = ?" }
        .joined(separator: ", ")

    /// The record with `id`; with `locking`, on PostgreSQL, its row stays locked until the transaction ends
    /// (`FOR UPDATE`: another transaction reading it so waits, then reads what this one committed).
    static func asset(id: String, locking: Bool = false, _ db: any CatalogConnection) throws -> Asset? {
        let lock = locking && db.dialect == .postgres ? " FOR UPDATE" : ""
        return try db.fetchOne("SELECT \(Asset.selectColumns) FROM assets WHERE id = ?\(lock)", [id]).map {
            try Asset(catalogRow: $0)
        }
    }

    static func delete(id: String, _ db: any CatalogConnection) throws -> Asset? {
        guard let asset = try asset(id: id, db) else { return nil }
        try db.execute("DELETE FROM assets WHERE id = ?", [id])
        return asset
    }

    static func deleteProject(
        _ project: ProjectID,
        keepingProcessing: Bool = false,
        _ db: any CatalogConnection
    ) throws -> Int {
        try db.execute(
            "DELETE FROM assets WHERE project_id = ?" + (keepingProcessing ? " AND status <> 'processing'" : ""),
            [project.rawValue]
        )
    }

    static func list(project: ProjectID, limit: Int?, after: String?, _ db: any CatalogConnection) throws -> [Asset] {
        if let limit, limit < 0 {
            throw StorageError.invalidValue("limit", String(limit), "must be 0 or more")
        }
        let limitValue = limit.map { Int64($0) } ?? noLimit
        let order = db.dialect.insertionOrder
        guard let after else {
            return try fetch(
                db,
                """
                SELECT \(Asset.selectColumns) FROM assets WHERE project_id = ?
                ORDER BY created_at, \(order) LIMIT ?
                """,
                [project.rawValue, limitValue]
            )
        }
        guard
            let position = try db.fetchOne(
                "SELECT created_at, \(order) FROM assets WHERE id = ? AND project_id = ?",
                [after, project.rawValue]
            )
        else {
            throw StorageError.unknownCursor(after, project: project.rawValue)
        }
        let createdAt: Int64 = try position.get(0)
        let tieBreak: Int64 = try position.get(1)
        // The row value comparison walks the (project_id, created_at[, rowid]) index from the cursor on.
        return try fetch(
            db,
            """
            SELECT \(Asset.selectColumns) FROM assets
            WHERE project_id = ? AND (created_at, \(order)) > (?, ?)
            ORDER BY created_at, \(order) LIMIT ?
            """,
            [project.rawValue, createdAt, tieBreak, limitValue]
        )
    }

    static func latest(project: ProjectID, limit: Int, _ db: any CatalogConnection) throws -> [Asset] {
        guard limit >= 0 else { throw StorageError.invalidValue("limit", String(limit), "must be 0 or more") }
        let order = db.dialect.insertionOrder
        return try fetch(
            db,
            """
            SELECT \(Asset.selectColumns) FROM assets WHERE project_id = ?
            ORDER BY created_at DESC, \(order) DESC LIMIT ?
            """,
            [project.rawValue, limit]
        ).reversed()
    }

    static func existing(project: ProjectID, checksum: String, _ db: any CatalogConnection) throws -> Asset? {
        try fetch(
            db,
            """
            SELECT \(Asset.selectColumns) FROM assets
            WHERE project_id = ? AND checksum = ? AND status IN ('ready', 'processing')
            ORDER BY created_at, \(db.dialect.insertionOrder) LIMIT 1
            """,
            [project.rawValue, checksum]
        ).first
    }

    static func assets(status: AssetStatus, _ db: any CatalogConnection) throws -> [Asset] {
        try fetch(
            db,
            "SELECT \(Asset.selectColumns) FROM assets WHERE status = ? ORDER BY created_at, \(db.dialect.insertionOrder)",
            [status.rawValue]
        )
    }

    static func all(_ db: any CatalogConnection) throws -> [Asset] {
        try fetch(
            db,
            "SELECT \(Asset.selectColumns) FROM assets ORDER BY created_at, \(db.dialect.insertionOrder)",
            []
        )
    }

    static func uploadBytes(project: ProjectID, _ db: any CatalogConnection) throws -> Int64 {
        // SUM of a PostgreSQL bigint is numeric: the cast brings it back to an integer on both engines.
        try db.fetchOne(
            "SELECT CAST(COALESCE(SUM(size_bytes), 0) AS BIGINT) FROM assets WHERE project_id = ? AND status != 'failed'",
            [project.rawValue]
        )?.get(0) ?? 0
    }

    private static func fetch(
        _ db: any CatalogConnection,
        _ sql: String,
        _ arguments: [any CatalogBindable]
    ) throws -> [Asset] {
        let decoder = JSONDecoder()
        return try db.fetch(sql, arguments).map { try Asset(catalogRow: $0, decoder: decoder) }
    }
}
