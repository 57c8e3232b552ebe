import GRDB

/// A GRDB connection seen as a `CatalogConnection`: statements are cached by their SQL text.
struct SQLiteConnection: CatalogConnection {
    let db: Database
    let nodeID: String
    var dialect: CatalogDialect { .sqlite }

    func execute(_ sql: String, _ arguments: [any CatalogBindable]) throws -> Int {
        let statement = try db.cachedStatement(sql: sql)
        do {
            try statement.execute(arguments: Self.arguments(arguments))
        } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
            throw CatalogConstraintViolation(message: error.message ?? "constraint failed")
        }
        return db.changesCount
    }

    func fetch(_ sql: String, _ arguments: [any CatalogBindable]) throws -> [CatalogRow] {
        let statement = try db.cachedStatement(sql: sql)
        var out: [CatalogRow] = []
        do {
            let rows = try Row.fetchCursor(statement, arguments: Self.arguments(arguments))
            while let row = try rows.next() {
                var values: [CatalogValue] = []
                values.reserveCapacity(row.count)
                for index in 0..<row.count { values.append(Self.value(row[index] as DatabaseValue)) }
                out.append(CatalogRow(values: values))
            }
        } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
            throw CatalogConstraintViolation(message: error.message ?? "constraint failed")
        }
        return out
    }

    static func arguments(_ values: [any CatalogBindable]) -> StatementArguments {
        StatementArguments(
            values.map { value -> (any DatabaseValueConvertible)? in
                switch value.catalogValue {
                case .null: nil
                case .integer(let i): i
                case .real(let d): d
                case .text(let s): s
                }
            }
        )
    }

    static func value(_ value: DatabaseValue) -> CatalogValue {
        switch value.storage {
        case .null: .null
        case .int64(let i): .integer(i)
        case .double(let d): .real(d)
        case .string(let s): .text(s)
        case .blob(let data): .text(String(decoding: data, as: UTF8.self))
        }
    }
}
