import GRDB

/// Raw SQL access for checks (tests, benchmarks, repair tooling inside the module).
extension Catalog {
    /// The SQLite database of an SQLite catalog; `nil` for PostgreSQL.
    var sqliteWriter: (any DatabaseWriter)? { (backend as? SQLiteBackend)?.writer }

    /// SQLite's plan for `sql`, its steps joined by ` | ` (SQLite catalogs only).
    func queryPlan(_ sql: String) throws -> String {
        guard let writer = sqliteWriter else { throw StorageError.invalidValue("catalog", location, "not SQLite") }
        return try writer.read { db in
            try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql).map { $0["detail"] as String }
        }.joined(separator: " | ")
    }

    /// Runs `sql` in one write transaction.
    func execute(_ sql: String) throws {
        try writing("execute") { try $0.execute(sql, []) }
    }

    /// Value of `PRAGMA name` on the writer connection (SQLite catalogs only).
    func pragma(_ name: String) throws -> String? {
        guard let writer = sqliteWriter else { throw StorageError.invalidValue("catalog", location, "not SQLite") }
        return try writer.write { try String.fetchOne($0, sql: "PRAGMA " + name) }
    }

    /// How many times a durable write flushed the WAL (SQLite catalogs on disk only).
    var walFlushes: Int? { (backend as? SQLiteBackend)?.walSync?.flushCount }
}
