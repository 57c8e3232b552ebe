import GRDB

/// The SQLite schema, one named step per change, recorded by GRDB in `grdb_migrations`. Steps are never
/// edited once shipped: a change is a new step, so that a catalog written by an older daemon is brought
/// forward on open. `PostgresMigrations` holds the same steps, by the same names, for PostgreSQL.
enum SQLiteMigrations {
    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()

        m.registerMigration("v1-assets") { db in
            // A rowid table on purpose: the implicit rowid is the insertion order that breaks
            // created_at ties, and every index carries it, so (project_id, created_at) sorts by
            // (project_id, created_at, rowid) and paging stays stable for equal timestamps.
            // The checksum index ends in created_at too, so the duplicate look-up ("oldest match")
            // is answered from it without a sort, and the planner never prefers the listing index.
            try db.execute(
                sql: """
                    CREATE TABLE assets (
                        id TEXT PRIMARY KEY NOT NULL,
                        project_id TEXT NOT NULL,
                        filename TEXT NOT NULL,
                        original_filename TEXT NOT NULL,
                        relative_path TEXT NOT NULL UNIQUE,
                        checksum TEXT NOT NULL,
                        size_bytes INTEGER NOT NULL,
                        mime_type TEXT NOT NULL,
                        status TEXT NOT NULL,
                        thumbnail_path TEXT,
                        metadata TEXT,
                        error TEXT,
                        created_at INTEGER NOT NULL,
                        updated_at INTEGER NOT NULL,
                        thumbnail_attempts INTEGER NOT NULL DEFAULT 0
                    );
                    CREATE INDEX assets_project_created ON assets(project_id, created_at);
                    CREATE INDEX assets_project_checksum ON assets(project_id, checksum, created_at);
                    CREATE INDEX assets_status ON assets(status);
                    """
            )
        }

        m.registerMigration("v1-events") { db in
            // AUTOINCREMENT: ids are never reused after pruning, so `?since=N` stays meaningful.
            try db.execute(
                sql: """
                    CREATE TABLE events (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        type TEXT NOT NULL,
                        at INTEGER NOT NULL,
                        project_id TEXT NOT NULL,
                        asset_id TEXT,
                        filename TEXT,
                        reason TEXT,
                        error TEXT,
                        detail TEXT
                    );
                    """
            )
        }

        m.registerMigration("v1-pending-moves") { db in
            try db.execute(
                sql: """
                    CREATE TABLE pending_moves (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        asset_id TEXT NOT NULL,
                        project_id TEXT NOT NULL,
                        source_path TEXT NOT NULL,
                        staging_path TEXT NOT NULL,
                        target_relative_path TEXT,
                        stage TEXT NOT NULL,
                        created_at INTEGER NOT NULL
                    );
                    """
            )
        }

        m.registerMigration("v2-derived-and-nodes") { db in
            // Renditions and the sprite sheet are listed in the record once made; events name their node.
            try db.execute(
                sql: """
                    ALTER TABLE assets ADD COLUMN renditions TEXT NOT NULL DEFAULT '[]';
                    ALTER TABLE assets ADD COLUMN sprite TEXT;
                    ALTER TABLE events ADD COLUMN node TEXT;
                    ALTER TABLE events ADD COLUMN rendition TEXT;
                    """
            )
        }
        m.registerMigration("v3-jobs") { db in
            // Background work (sprites, renditions) as rows: claimed in priority order under a lease that a
            // heartbeat renews, so work a dead node began is taken over once its lease lapses.
            try db.execute(
                sql: """
                    CREATE TABLE jobs (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        kind TEXT NOT NULL,
                        asset_id TEXT NOT NULL,
                        params TEXT NOT NULL DEFAULT '',
                        priority INTEGER NOT NULL,
                        state TEXT NOT NULL,
                        attempts INTEGER NOT NULL DEFAULT 0,
                        lease_owner TEXT,
                        lease_expires INTEGER,
                        last_error TEXT,
                        created_at INTEGER NOT NULL,
                        updated_at INTEGER NOT NULL,
                        UNIQUE (asset_id, kind)
                    );
                    CREATE INDEX jobs_claim ON jobs(state, priority, id);
                    """
            )
        }

        m.registerMigration("v4-journal-nodes") { db in
            // Each node's start-up recovery takes only its own journal rows (several nodes on PostgreSQL).
            try db.execute(sql: "ALTER TABLE pending_moves ADD COLUMN node TEXT")
        }

        m.registerMigration("v5-thumbnail-leases") { db in
            // Which node renders an asset's thumbnail, until when (ms); another node takes it over once it lapses.
            try db.execute(
                sql: """
                    ALTER TABLE assets ADD COLUMN thumbnail_claim TEXT;
                    ALTER TABLE assets ADD COLUMN thumbnail_lease_until INTEGER;
                    """
            )
        }
        m.registerMigration("v6-thumbnail-jobs") { db in
            // Thumbnails become rows of `jobs` like sprites and renditions (claimed under a lease, attempts
            // counted by the claim). The thumbnails still missing are queued, their attempts carried over; the
            // `thumbnail_*` columns of `assets` are no longer read.
            try db.execute(
                sql: """
                    INSERT INTO jobs (kind, asset_id, params, priority, state, attempts, created_at, updated_at)
                    SELECT 'thumbnail', id, '', 0, 'queued', thumbnail_attempts,
                        CAST(strftime('%s', 'now') AS INTEGER) * 1000, CAST(strftime('%s', 'now') AS INTEGER) * 1000
                    FROM assets WHERE status = 'ready' AND thumbnail_path IS NULL
                    ON CONFLICT (asset_id, kind) DO NOTHING
                    """
            )
        }
        m.registerMigration("v7-jobs-claim-by-kind") { db in
            // A claim looks up the first job of one kind and state in priority order: with the kind first in
            // the index that is one row read, not a sort of every queued job.
            try db.execute(sql: "CREATE INDEX jobs_claim_by_kind ON jobs(kind, state, priority, id)")
        }
        m.registerMigration("purge-journal") { db in
            // A project purge whose records are gone and whose files are not all gone yet: written in the
            // transaction that removes the records, removed once the files are; start-up and repair finish it.
            try db.execute(
                sql: """
                    CREATE TABLE pending_purges (
                        project_id TEXT PRIMARY KEY NOT NULL,
                        token TEXT NOT NULL,
                        node TEXT NOT NULL,
                        started_at INTEGER NOT NULL
                    );
                    """
            )
        }
        m.registerMigration("v8-event-steps") { db in
            // A `failed` event names its step (`thumbnail`, `sprite`, `rendition`) apart from the rendition.
            try db.execute(sql: "ALTER TABLE events ADD COLUMN step TEXT")
        }
        return m
    }
}
