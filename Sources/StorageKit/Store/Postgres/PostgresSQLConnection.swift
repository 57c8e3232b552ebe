import Logging
import PostgresNIO

/// A postgres-nio connection seen as a `CatalogConnection`: `?` placeholders become `$1, $2 …`, and each call
/// blocks the calling thread until the server answers (never call it on the connection's event loop).
struct PostgresSQLConnection: CatalogConnection {
    let connection: PostgresConnection
    let nodeID: String
    let logger: Logger
    var dialect: CatalogDialect { .postgres }

    func execute(_ sql: String, _ arguments: [any CatalogBindable]) throws -> Int {
        try run(sql, arguments).metadata.rows ?? 0
    }

    func fetch(_ sql: String, _ arguments: [any CatalogBindable]) throws -> [CatalogRow] {
        try run(sql, arguments).rows.map { row in
            CatalogRow(values: row.map(Self.value))
        }
    }

    private func run(_ sql: String, _ arguments: [any CatalogBindable]) throws -> PostgresQueryResult {
        var binds = PostgresBindings(capacity: arguments.count)
        for argument in arguments {
            switch argument.catalogValue {
            case .null: binds.appendNull()
            case .integer(let i): binds.append(i)
            case .real(let d): binds.append(d)
            case .text(let s): binds.append(s)
            }
        }
        let query = PostgresQuery(unsafeSQL: Self.numberedPlaceholders(sql), binds: binds)
        // A connection that outlived a server crash can take a statement and never answer it (seen with a
        // ROLLBACK after the server died): past the deadline the wait ends as a lost connection and the
        // connection is closed, instead of blocking its thread for ever.
        let connection = self.connection
        let logger = self.logger
        let answer = connection.eventLoop.makePromise(of: PostgresQueryResult.self)
        connection.query(query, logger: logger).cascade(to: answer)
        let deadline = connection.eventLoop.scheduleTask(in: Self.queryDeadline) {
            logger.warning(
                "a catalog statement got no answer in time; closing its connection",
                metadata: ["sql": "\(sql.prefix(80))"]
            )
            answer.fail(StatementUnanswered(deadline: Self.queryDeadline))
            connection.closeInBackground()
        }
        defer { deadline.cancel() }
        do {
            return try answer.futureResult.wait()
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {
            throw CatalogConstraintViolation(message: error.serverInfo?[.message] ?? "unique constraint violated")
        }
    }

    /// The longest a catalog statement may go unanswered (the catalog's statements are small).
    static let queryDeadline = TimeAmount.seconds(30)

    /// `?` → `$1`, `$2` … (the catalog's SQL has no `?` inside string literals).
    static func numberedPlaceholders(_ sql: String) -> String {
        guard sql.contains("?") else { return sql }
        var out = ""
        out.reserveCapacity(sql.utf8.count + 16)
        var n = 0
        for ch in sql {
            if ch == "?" {
                n += 1
                out += "$\(n)"
            } else {
                out.append(ch)
            }
        }
        return out
    }

    static func value(_ cell: PostgresCell) -> CatalogValue {
        guard cell.bytes != nil else { return .null }
        switch cell.dataType {
        case .int8, .int4, .int2:
            return (try? cell.decode(Int64.self)).map { .integer($0) } ?? .null
        case .float8, .float4:
            return (try? cell.decode(Double.self)).map { .real($0) } ?? .null
        case .bool:
            return (try? cell.decode(Bool.self)).map { .integer($0 ? 1 : 0) } ?? .null
        case .void:
            return .null
        default:
            return (try? cell.decode(String.self)).map { .text($0) } ?? .null
        }
    }
}

/// A statement got no answer within ``PostgresSQLConnection/queryDeadline``: its connection counts as lost.
struct StatementUnanswered: Error, CustomStringConvertible {
    let deadline: TimeAmount
    var description: String { "no answer from the server within \(deadline.nanoseconds / 1_000_000_000) s" }
}
