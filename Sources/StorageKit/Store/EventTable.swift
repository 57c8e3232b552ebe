/// The SQL of the `events` table: an append-only log with consecutive ids, pruned from the old end.
///
/// On PostgreSQL the id comes from the one-row `event_counter` table, raised inside the appending transaction:
/// its row lock makes every node's appends take ids one after another and commit in id order, so a follower that
/// has read up to id N never later finds a smaller id appearing (a sequence would leave gaps on rollback and let
/// a later id commit first). `NOTIFY ingestd_events` wakes the other nodes' followers at commit.
enum EventTable {
    /// The SPEC promises that at least this many of the newest events can be replayed.
    static let keptEvents: Int64 = 10_000
    /// Pruning runs once every this many appends and drops everything older than
    /// `2 × keptEvents` ids, so the table holds between 10,000 and ~21,000 rows once it is full.
    static let pruneEvery: Int64 = 1_000
    /// The PostgreSQL notification channel of new events.
    static let channel = "ingestd_events"

    /// The columns an ``IngestEvent`` is read from, in order; all but the id are written by ``append(_:_:)``.
    enum Column: String, CatalogColumns {
        case id, type, at
        case projectID = "project_id"
        case assetID = "asset_id"
        case filename, reason, error, detail, node, rendition, step

        static let table = "events"
    }

    /// Stores `event`, naming the connection's node as its writer unless the event names one already.
    static func append(_ event: IngestEvent, _ db: any CatalogConnection) throws -> IngestEvent {
        var stored = event
        if stored.node == nil { stored.node = db.nodeID }
        var arguments: [any CatalogBindable] = [
            stored.type.rawValue, ISO8601Millis.milliseconds(stored.at), stored.projectID, stored.assetID,
            stored.filename, stored.reason, stored.error, stored.detail, stored.node, stored.rendition, stored.step,
        ]
        let columns = Column.allCases.dropFirst().map(\.rawValue).joined(separator: ", ")
        switch db.dialect {
        case .sqlite:
            let row = try db.fetchOne(
                "INSERT INTO events (\(columns)) VALUES (\(bindMarkers(arguments.count))) RETURNING id",
                arguments
            )
            stored.id = try row?.get(0) ?? 0
        case .postgres:
            let row = try db.fetchOne("UPDATE event_counter SET last_id = last_id + 1 RETURNING last_id", [])
            stored.id = try row?.get(0) ?? 0
            arguments.insert(stored.id, at: 0)
            try db.execute("INSERT INTO events (id, \(columns)) VALUES (\(bindMarkers(arguments.count)))", arguments)
            try db.execute("NOTIFY \(channel)", [])
        }
        if stored.id % pruneEvery == 0 {
            try db.execute("DELETE FROM events WHERE id <= ?", [stored.id - 2 * keptEvents])
        }
        return stored
    }

    static func events(after id: Int64, limit: Int, _ db: any CatalogConnection) throws -> [IngestEvent] {
        guard limit >= 0 else { throw StorageError.invalidValue("limit", String(limit), "must be 0 or more") }
        let rows = try db.fetch(
            """
            SELECT \(Column.list)
            FROM events WHERE id > ? ORDER BY id LIMIT ?
            """,
            [id, limit]
        )
        return try rows.map { row in
            let typeText: String = try row.get(Column.type)
            guard let type = IngestEvent.EventType(rawValue: typeText) else {
                throw StorageError.invalidValue(
                    "events.type",
                    typeText,
                    "unknown type of event \(try row.get(Column.id, as: Int64.self))"
                )
            }
            return IngestEvent(
                id: try row.get(Column.id),
                type: type,
                at: ISO8601Millis.date(milliseconds: try row.get(Column.at)),
                node: try row.optional(Column.node),
                projectID: try row.get(Column.projectID),
                assetID: try row.optional(Column.assetID),
                filename: try row.optional(Column.filename),
                step: try row.optional(Column.step),
                rendition: try row.optional(Column.rendition),
                reason: try row.optional(Column.reason),
                error: try row.optional(Column.error),
                detail: try row.optional(Column.detail)
            )
        }
    }

    /// The id of the newest event ever stored (also after pruning), `0` when there was none.
    static func lastID(_ db: any CatalogConnection) throws -> Int64 {
        switch db.dialect {
        case .sqlite:
            // sqlite_sequence keeps the AUTOINCREMENT high-water mark even if every row was pruned.
            try db.fetchOne("SELECT seq FROM sqlite_sequence WHERE name = 'events'", [])?.get(0) ?? 0
        case .postgres:
            try db.fetchOne("SELECT last_id FROM event_counter", [])?.get(0) ?? 0
        }
    }
}
