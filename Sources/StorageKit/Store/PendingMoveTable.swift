/// The SQL of the `pending_moves` journal. Each row names the node that wrote it, so that a node's start-up
/// recovery touches only its own moves when several nodes share a PostgreSQL catalog.
enum PendingMoveTable {
    /// The columns a ``PendingMove`` is read from, in order: its own field names (`node` is written, never
    /// read back).
    typealias Column = PendingMove.CodingKeys

    static func add(_ move: PendingMove, _ db: any CatalogConnection) throws -> PendingMove {
        let row = try db.fetchOne(
            """
            INSERT INTO pending_moves
                (asset_id, project_id, source_path, staging_path, target_relative_path, stage, created_at, node)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id
            """,
            [
                move.assetID, move.projectID, move.sourcePath, move.stagingPath, move.targetRelativePath,
                move.stage.rawValue, ISO8601Millis.milliseconds(move.createdAt), db.nodeID,
            ]
        )
        var stored = move
        stored.id = try row?.get(0) ?? 0
        return stored
    }

    static func update(_ move: PendingMove, _ db: any CatalogConnection) throws {
        let changed = try db.execute(
            """
            UPDATE pending_moves SET asset_id = ?, project_id = ?, source_path = ?, staging_path = ?,
                target_relative_path = ?, stage = ?, created_at = ?
            WHERE id = ?
            """,
            [
                move.assetID, move.projectID, move.sourcePath, move.stagingPath, move.targetRelativePath,
                move.stage.rawValue, ISO8601Millis.milliseconds(move.createdAt), move.id,
            ]
        )
        guard changed > 0 else { throw StorageError.pendingMoveNotFound(move.id) }
    }

    static func remove(id: Int64, _ db: any CatalogConnection) throws {
        let changed = try db.execute("DELETE FROM pending_moves WHERE id = ?", [id])
        guard changed > 0 else { throw StorageError.pendingMoveNotFound(id) }
    }

    /// This node's journal, oldest first. An SQLite catalog has one node: every row is its own (also rows
    /// written before the node column existed, or under an earlier `NODE_ID`).
    /// With `node`, that node's rows; with `everyNode`, all rows.
    static func all(node: String? = nil, everyNode: Bool = false, _ db: any CatalogConnection) throws -> [PendingMove] {
        let columns = Column.list
        let rows =
            if everyNode || (db.dialect == .sqlite && node == nil) {
                try db.fetch("SELECT \(columns) FROM pending_moves ORDER BY id", [])
            } else {
                try db.fetch("SELECT \(columns) FROM pending_moves WHERE node = ? ORDER BY id", [node ?? db.nodeID])
            }
        return try rows.map { row in
            PendingMove(
                id: try row.get(Column.id),
                assetID: try row.get(Column.assetID),
                projectID: try row.get(Column.projectID),
                sourcePath: try row.get(Column.sourcePath),
                stagingPath: try row.get(Column.stagingPath),
                targetRelativePath: try row.optional(Column.targetRelativePath),
                stage: PendingMove.Stage(stored: try row.get(Column.stage)),
                createdAt: ISO8601Millis.date(milliseconds: try row.get(Column.createdAt))
            )
        }
    }
}

extension PendingMove.CodingKeys: CatalogColumns {
    static let table = "pending_moves"
}
