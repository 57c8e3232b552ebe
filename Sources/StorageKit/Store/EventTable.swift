import GRDB

/// The SQL of the `events` table: an append-only log with consecutive ids, pruned from the old end.
enum EventTable {
    /// The SPEC promises that at least this many of the newest events can be replayed.
    static let keptEvents: Int64 = 10_000
    /// Pruning runs once every this many appends and drops everything older than
    /// `2 × keptEvents` ids, so the table holds between 10,000 and ~21,000 rows once it is full.
    static let pruneEvery: Int64 = 1_000

    /// Stores `event`, naming `node` as its writer unless the event names one already.
    static func append(_ event: IngestEvent, node: String, _ db: Database) throws -> IngestEvent {
        var stored = event
        if stored.node == nil { stored.node = node }
        let statement = try db.cachedStatement(
            sql: """
                INSERT INTO events (type, at, project_id, asset_id, filename, reason, error, detail, node, rendition)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
        )
        try statement.execute(arguments: [
            stored.type.rawValue, ISO8601Millis.milliseconds(stored.at), stored.projectID, stored.assetID,
            stored.filename, stored.reason, stored.error, stored.detail, stored.node, stored.rendition,
        ])
        stored.id = db.lastInsertedRowID
        if stored.id % pruneEvery == 0 {
            try db.execute(sql: "DELETE FROM events WHERE id <= ?", arguments: [stored.id - 2 * keptEvents])
        }
        return stored
    }

    static func events(after id: Int64, limit: Int, _ db: Database) throws -> [IngestEvent] {
        guard limit >= 0 else { throw StorageError.invalidValue("limit", String(limit), "must be 0 or more") }
        let statement = try db.cachedStatement(
            sql: """
                SELECT id, type, at, project_id, asset_id, filename, reason, error, detail, node, rendition
                FROM events WHERE id > ? ORDER BY id LIMIT ?
                """
        )
        var out: [IngestEvent] = []
        let rows = try Row.fetchCursor(statement, arguments: [id, limit])
        while let row = try rows.next() {
            let typeText: String = row[1]
            guard let type = IngestEvent.EventType(rawValue: typeText) else {
                throw StorageError.invalidValue("events.type", typeText, "unknown type of event \(row[0] as Int64)")
            }
            out.append(
                IngestEvent(
                    id: row[0],
                    type: type,
                    at: ISO8601Millis.date(milliseconds: row[2]),
                    node: row[9],
                    projectID: row[3],
                    assetID: row[4],
                    filename: row[5],
                    rendition: row[10],
                    reason: row[6],
                    error: row[7],
                    detail: row[8]
                )
            )
        }
        return out
    }

    /// The id of the newest event ever stored (also after pruning), `0` when there was none.
    static func lastID(_ db: Database) throws -> Int64 {
        // sqlite_sequence keeps the AUTOINCREMENT high-water mark even if every row was pruned.
        try Int64.fetchOne(db, sql: "SELECT seq FROM sqlite_sequence WHERE name = 'events'") ?? 0
    }
}
