import GRDB

/// Raw SQL access for checks (tests, benchmarks, repair tooling inside the module).
extension Catalog {
    /// SQLite's plan for `sql`, its steps joined by ` | `.
    func queryPlan(_ sql: String) throws -> String {
        try reading("explain") { db in
            try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql).map { $0["detail"] as String }
        }.joined(separator: " | ")
    }

    /// Runs `sql` in one write transaction.
    func execute(_ sql: String) throws {
        try writing("execute") { try $0.execute(sql: sql) }
    }

    /// Value of `PRAGMA name` on the writer connection.
    func pragma(_ name: String) throws -> String? {
        try writing("pragma \(name)") { try String.fetchOne($0, sql: "PRAGMA " + name) }
    }
}
