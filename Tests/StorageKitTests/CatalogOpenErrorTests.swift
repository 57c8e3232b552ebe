import GRDB
import Testing

@testable import StorageKit

/// A catalog file the daemon cannot write is said in words, not as the statement GRDB probed the file with
/// (audit: `… while executing CREATE TABLE grdb_issue_102 …` in the start-up error).
struct CatalogOpenErrorTests {
    @Test func aReadOnlyCatalogIsSaidInWords() {
        let error = DatabaseError(
            resultCode: .SQLITE_READONLY,
            message: "attempt to write a readonly database",
            sql: "CREATE TABLE grdb_issue_102 (id INTEGER PRIMARY KEY); DROP TABLE grdb_issue_102;"
        )
        let text = "\(SQLiteBackend.mapOpenError(error, path: "/srv/storage/metadata/catalog.sqlite"))"
        #expect(text.contains("attempt to write a readonly database"), "\(text)")
        #expect(text.contains("must be able to write it"), "\(text)")
        #expect(!text.contains("grdb_issue_102"), "\(text)")
    }
}
