import Foundation
import GRDB
import Testing

@testable import StorageKit

struct CatalogColumnsTests {
    /// Every column a mapper reads exists in its table (both dialects' migrations are checked by the backend
    /// tests; this one asks SQLite what its tables hold).
    @Test func everyMappedColumnExistsInItsTable() throws {
        let catalog = try Catalog.inMemory()
        let writer = try #require(catalog.sqliteWriter)
        func columns(_ table: String) throws -> Set<String> {
            try writer.read { db in Set(try Row.fetchAll(db, sql: "PRAGMA table_info(\(table))").map { $0["name"] }) }
        }
        #expect(Set(Asset.Column.allCases.map(\.rawValue)).isSubset(of: try columns(Asset.Column.table)))
        #expect(Set(JobTable.Column.allCases.map(\.rawValue)).isSubset(of: try columns(JobTable.Column.table)))
        #expect(Set(EventTable.Column.allCases.map(\.rawValue)).isSubset(of: try columns(EventTable.Column.table)))
        #expect(
            Set(PendingMoveTable.Column.allCases.map(\.rawValue)).isSubset(
                of: try columns(PendingMoveTable.Column.table)
            )
        )
        #expect(Asset.Column.list.hasPrefix("id, project_id, filename,"))
        #expect(Asset.Column.bindMarkers.split(separator: ",").count == Asset.Column.allCases.count)
    }

    /// A damaged value is named by its table and column, not by a position.
    @Test func aDamagedValueIsNamedByItsColumn() throws {
        let catalog = try Catalog.inMemory()
        let asset = Fixture.asset()
        try catalog.insert(asset)
        try catalog.execute("UPDATE assets SET size_bytes = 'many' WHERE id = '\(asset.id)'")
        let error = try #require(throws: StorageError.self) { _ = try catalog.asset(id: asset.id) }
        #expect(error.message.contains("assets.size_bytes"), "\(error.message)")
    }
}
