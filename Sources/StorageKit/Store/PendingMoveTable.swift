import GRDB

/// The SQL of the `pending_moves` journal.
enum PendingMoveTable {
    static func add(_ move: PendingMove, _ db: Database) throws -> PendingMove {
        try db.execute(
            sql: """
                INSERT INTO pending_moves
                    (asset_id, project_id, source_path, staging_path, target_relative_path, stage, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                move.assetID, move.projectID, move.sourcePath, move.stagingPath, move.targetRelativePath,
                move.stage, ISO8601Millis.milliseconds(move.createdAt),
            ]
        )
        var stored = move
        stored.id = db.lastInsertedRowID
        return stored
    }

    static func update(_ move: PendingMove, _ db: Database) throws {
        try db.execute(
            sql: """
                UPDATE pending_moves SET asset_id = ?, project_id = ?, source_path = ?, staging_path = ?,
                    target_relative_path = ?, stage = ?, created_at = ?
                WHERE id = ?
                """,
            arguments: [
                move.assetID, move.projectID, move.sourcePath, move.stagingPath, move.targetRelativePath,
                move.stage, ISO8601Millis.milliseconds(move.createdAt), move.id,
            ]
        )
        guard db.changesCount > 0 else { throw StorageError.pendingMoveNotFound(move.id) }
    }

    static func remove(id: Int64, _ db: Database) throws {
        try db.execute(sql: "DELETE FROM pending_moves WHERE id = ?", arguments: [id])
        guard db.changesCount > 0 else { throw StorageError.pendingMoveNotFound(id) }
    }

    static func all(_ db: Database) throws -> [PendingMove] {
        try Row.fetchAll(
            db,
            sql: """
                SELECT id, asset_id, project_id, source_path, staging_path, target_relative_path, stage, created_at
                FROM pending_moves ORDER BY id
                """
        ).map { row in
            PendingMove(
                id: row[0],
                assetID: row[1],
                projectID: row[2],
                sourcePath: row[3],
                stagingPath: row[4],
                targetRelativePath: row[5],
                stage: row[6],
                createdAt: ISO8601Millis.date(milliseconds: row[7])
            )
        }
    }
}
