/// A table's columns in the order its mapper selects them: each case is one column, its raw value the column's
/// SQL name. The list a statement selects and the position a row is read at come from the same declaration,
/// so a mapper reads `row.get(Column.status)`, never a position that must agree with a string elsewhere.
protocol CatalogColumns: CaseIterable, Equatable, RawRepresentable<String> where AllCases == [Self] {
    /// The table, for error messages (`assets.status`).
    static var table: String { get }
}

extension CatalogColumns {
    /// `a, b, c`: every column, in order (for `SELECT` and `INSERT`).
    static var list: String { allCases.map(\.rawValue).joined(separator: ", ") }

    /// `?, ?, ?`: one bind marker per column.
    static var bindMarkers: String { StorageKit.bindMarkers(allCases.count) }

    /// The column's position in a row selected with ``list``.
    var position: Int { Self.allCases.firstIndex(of: self)! }
}

extension CatalogRow {
    /// The value of `column`; throws, naming the column, when it is NULL or of another type (a damaged catalog).
    func get<T: CatalogDecodable, Column: CatalogColumns>(_ column: Column, as type: T.Type = T.self) throws -> T {
        try value(at: column.position, named: "\(Column.table).\(column.rawValue)")
    }

    /// The value of `column`, `nil` when it is NULL.
    func optional<T: CatalogDecodable, Column: CatalogColumns>(
        _ column: Column,
        as type: T.Type = T.self
    ) throws -> T? {
        let index = column.position
        guard index < values.count, values[index] != .null else { return nil }
        return try get(column, as: type)
    }
}
