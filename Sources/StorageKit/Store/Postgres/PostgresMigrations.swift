/// The PostgreSQL schema: the same named steps as `SQLiteMigrations`, expressed for PostgreSQL and recorded
/// in `schema_migrations`. Steps are never edited once shipped; a change is a new step in both lists.
/// Nodes that start together migrate one at a time (an advisory lock held by the migrating transaction).
enum PostgresMigrations {
    /// The advisory lock key of migrations ("ingestd" + 1).
    static let lockKey: Int64 = 0x696e_6765_7374_6401

    static let steps: [(name: String, statements: [String])] = [
        (
            "v1-assets",
            [
                // `seq` is the insertion order that breaks created_at ties (SQLite's rowid).
                """
                CREATE TABLE assets (
                    seq BIGINT GENERATED ALWAYS AS IDENTITY,
                    id TEXT PRIMARY KEY NOT NULL,
                    project_id TEXT NOT NULL,
                    filename TEXT NOT NULL,
                    original_filename TEXT NOT NULL,
                    relative_path TEXT NOT NULL UNIQUE,
                    checksum TEXT NOT NULL,
                    size_bytes BIGINT NOT NULL,
                    mime_type TEXT NOT NULL,
                    status TEXT NOT NULL,
                    thumbnail_path TEXT,
                    metadata TEXT,
                    error TEXT,
                    created_at BIGINT NOT NULL,
                    updated_at BIGINT NOT NULL,
                    thumbnail_attempts BIGINT NOT NULL DEFAULT 0
                )
                """,
                "CREATE INDEX assets_project_created ON assets(project_id, created_at, seq)",
                "CREATE INDEX assets_project_checksum ON assets(project_id, checksum, created_at)",
                "CREATE INDEX assets_status ON assets(status)",
            ]
        ),
        (
            "v1-events",
            [
                """
                CREATE TABLE events (
                    id BIGINT PRIMARY KEY,
                    type TEXT NOT NULL,
                    at BIGINT NOT NULL,
                    project_id TEXT NOT NULL,
                    asset_id TEXT,
                    filename TEXT,
                    reason TEXT,
                    error TEXT,
                    detail TEXT
                )
                """,
                // One row: the last id handed out (see EventTable).
                "CREATE TABLE event_counter (last_id BIGINT NOT NULL)",
                "INSERT INTO event_counter (last_id) VALUES (0)",
            ]
        ),
        (
            "v1-pending-moves",
            [
                """
                CREATE TABLE pending_moves (
                    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    asset_id TEXT NOT NULL,
                    project_id TEXT NOT NULL,
                    source_path TEXT NOT NULL,
                    staging_path TEXT NOT NULL,
                    target_relative_path TEXT,
                    stage TEXT NOT NULL,
                    created_at BIGINT NOT NULL
                )
                """
            ]
        ),
        (
            "v2-derived-and-nodes",
            [
                "ALTER TABLE assets ADD COLUMN renditions TEXT NOT NULL DEFAULT '[]'",
                "ALTER TABLE assets ADD COLUMN sprite TEXT",
                "ALTER TABLE events ADD COLUMN node TEXT",
                "ALTER TABLE events ADD COLUMN rendition TEXT",
            ]
        ),
        (
            "v3-jobs",
            [
                """
                CREATE TABLE jobs (
                    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    kind TEXT NOT NULL,
                    asset_id TEXT NOT NULL,
                    params TEXT NOT NULL DEFAULT '',
                    priority BIGINT NOT NULL,
                    state TEXT NOT NULL,
                    attempts BIGINT NOT NULL DEFAULT 0,
                    lease_owner TEXT,
                    lease_expires BIGINT,
                    last_error TEXT,
                    created_at BIGINT NOT NULL,
                    updated_at BIGINT NOT NULL,
                    UNIQUE (asset_id, kind)
                )
                """,
                "CREATE INDEX jobs_claim ON jobs(state, priority, id)",
            ]
        ),
        (
            "v4-journal-nodes",
            [
                "ALTER TABLE pending_moves ADD COLUMN node TEXT",
                "CREATE INDEX pending_moves_node ON pending_moves(node)",
            ]
        ),
        (
            "v5-thumbnail-leases",
            [
                "ALTER TABLE assets ADD COLUMN thumbnail_claim TEXT",
                "ALTER TABLE assets ADD COLUMN thumbnail_lease_until BIGINT",
            ]
        ),
        (
            "v6-thumbnail-jobs",
            [
                """
                INSERT INTO jobs (kind, asset_id, params, priority, state, attempts, created_at, updated_at)
                SELECT 'thumbnail', id, '', 0, 'queued', thumbnail_attempts,
                    CAST(EXTRACT(EPOCH FROM now()) * 1000 AS BIGINT), CAST(EXTRACT(EPOCH FROM now()) * 1000 AS BIGINT)
                FROM assets WHERE status = 'ready' AND thumbnail_path IS NULL
                ON CONFLICT (asset_id, kind) DO NOTHING
                """
            ]
        ),
        ("v7-jobs-claim-by-kind", ["CREATE INDEX jobs_claim_by_kind ON jobs(kind, state, priority, id)"]),
        (
            "purge-journal",
            [
                """
                CREATE TABLE pending_purges (
                    project_id TEXT PRIMARY KEY NOT NULL,
                    token TEXT NOT NULL,
                    node TEXT NOT NULL,
                    started_at BIGINT NOT NULL
                )
                """
            ]
        ),
        ("v8-event-steps", ["ALTER TABLE events ADD COLUMN step TEXT"]),
    ]

    /// Applies the steps not yet recorded, each with its record, in one transaction.
    static func migrate(_ db: any CatalogConnection) throws {
        try db.execute("SELECT pg_advisory_xact_lock(?)", [lockKey])
        try db.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)",
            []
        )
        let applied = Set(try db.fetch("SELECT name FROM schema_migrations", []).map { try $0.get(0, as: String.self) })
        for step in steps where !applied.contains(step.name) {
            for statement in step.statements { try db.execute(statement, []) }
            try db.execute(
                "INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)",
                [step.name, ISO8601Millis.milliseconds(ISO8601Millis.now())]
            )
        }
    }
}
