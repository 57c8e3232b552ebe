/// The SQL flavour a connection speaks; the few statements that differ ask for it.
public enum CatalogDialect: Sendable {
    case sqlite
    case postgres

    /// The column that breaks `created_at` ties in insertion order: SQLite's implicit `rowid`, PostgreSQL's
    /// identity column `seq`.
    var insertionOrder: String {
        switch self {
        case .sqlite: "rowid"
        case .postgres: "seq"
        }
    }
}

/// A statement broke a uniqueness rule (an id or a relative path already taken). In PostgreSQL the
/// transaction is then spoiled: the caller lets it roll back and tries again with a new one.
struct CatalogConstraintViolation: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

/// One connection of a backend, inside a transaction or on its own (each statement its own transaction).
/// SQL is written once with `?` placeholders; a backend rewrites them for its server.
///
/// Blocking: every call waits for the database. Table code (`AssetTable`, `EventTable`, …) is written against
/// this, so a table works on both backends.
protocol CatalogConnection {
    var dialect: CatalogDialect { get }
    /// The node whose events this connection writes.
    var nodeID: String { get }

    /// Runs a statement that returns no rows; answers how many rows it changed.
    /// Throws `CatalogConstraintViolation` when a unique rule is broken.
    @discardableResult
    func execute(_ sql: String, _ arguments: [any CatalogBindable]) throws -> Int

    /// Runs a query and returns its rows.
    func fetch(_ sql: String, _ arguments: [any CatalogBindable]) throws -> [CatalogRow]
}

extension CatalogConnection {
    /// The first row, `nil` when there is none.
    func fetchOne(_ sql: String, _ arguments: [any CatalogBindable]) throws -> CatalogRow? {
        try fetch(sql, arguments).first
    }
}
