/// Per-project totals of the records: one grouped query, the same SQL on every catalog backend.
extension Catalog {
    /// One project's record count and the sum of their `size_bytes`.
    public struct ProjectTotals: Sendable, Equatable {
        public var projectID: String
        public var assets: Int
        public var bytes: Int64
    }

    /// Every project with at least one record, ordered by id (`GET /projects`).
    public func projectTotals() throws -> [ProjectTotals] {
        try reading("project totals") { db in
            // SUM of a PostgreSQL bigint is numeric: the cast keeps it an integer on both engines.
            try db.fetch(
                """
                SELECT project_id, COUNT(*), CAST(COALESCE(SUM(size_bytes), 0) AS BIGINT) FROM assets
                GROUP BY project_id ORDER BY project_id
                """,
                []
            ).map { row in ProjectTotals(projectID: try row.get(0), assets: try row.get(1), bytes: try row.get(2)) }
        }
    }
}
