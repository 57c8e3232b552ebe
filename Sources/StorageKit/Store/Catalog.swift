import Foundation
import GRDB

#if canImport(Glibc)
import Glibc
#endif

/// The metadata store: asset records, the event log and the pending-move journal, in SQLite
/// through GRDB. On disk it is a WAL-mode `DatabasePool` (readers never wait for the writer);
/// `inMemory()` gives a private `DatabaseQueue` for tests. Every method is one transaction;
/// `write(_:)` groups several.
public struct Catalog: Sendable {
    let writer: any DatabaseWriter
    /// The database file, or `:memory:`; named in every error.
    public let location: String
    /// This node's `NODE_ID`, stamped on the events it appends.
    public let nodeID: String

    init(writer: any DatabaseWriter, location: String, nodeID: String) {
        self.writer = writer
        self.location = location
        self.nodeID = nodeID
    }

    /// Opens (creating it if needed) the catalog at `layout.catalogPath`, creating
    /// `STORAGE_PATH/metadata/` first, and brings its schema up to date.
    ///
    /// - Throws: `StorageError` `.io` naming the folder that cannot be created, `.catalog` naming the
    ///   file when it is not an SQLite database or cannot be opened.
    public static func open(layout: StorageLayout, nodeID: String = "local") throws -> Catalog {
        try Directories.create(layout.categoryPath(.metadata))
        let path = layout.catalogPath
        var config = Configuration()
        // Readers use their own WAL snapshots; the busy timeout only covers a second process
        // (repair tooling, sqlite3 shell) holding the write lock for a moment.
        config.busyMode = .timeout(5)
        config.label = "catalog"
        config.prepareDatabase { db in
            // 32 MiB of page cache per connection (SQLite's default is 2 MiB): the checksum and
            // relative_path indexes take inserts at random places, and with a small cache every
            // batch re-reads and re-writes most of their pages. Memory grows only as pages are used.
            try db.execute(sql: "PRAGMA cache_size = -32768")
            // Checkpoint every 8,192 pages (32 MiB of WAL) instead of 1,000: a page that several
            // transactions rewrite is copied into the database file once rather than each time
            // (batched inserts ran ~1.5x faster in bench/catalog-bench.sh). The WAL file is cut
            // back to 32 MiB after a checkpoint if a long reader let it grow past that.
            try db.execute(sql: "PRAGMA wal_autocheckpoint = 8192")
            try db.execute(sql: "PRAGMA journal_size_limit = 33554432")
        }
        do {
            let pool = try DatabasePool(path: path, configuration: config)
            let catalog = Catalog(writer: pool, location: path, nodeID: nodeID)
            try migrator.migrate(pool)
            return catalog
        } catch let error as DatabaseError {
            throw mapOpenError(error, path: path)
        }
    }

    /// A private catalog in memory, for tests and benchmarks.
    public static func inMemory(nodeID: String = "local") throws -> Catalog {
        do {
            let queue = try DatabaseQueue(configuration: Configuration())
            try migrator.migrate(queue)
            return Catalog(writer: queue, location: ":memory:", nodeID: nodeID)
        } catch let error as DatabaseError {
            throw StorageError.catalog(":memory:", "open", error.description)
        }
    }

    /// Runs `body` in one write transaction: everything it did is committed together, or, when it
    /// throws, rolled back and the error rethrown.
    public func write<T>(_ body: (CatalogTransaction) throws -> T) throws -> T {
        try guarded("write") {
            try writer.write { db in try body(CatalogTransaction(db: db, nodeID: nodeID)) }
        }
    }

    /// One write transaction around a table function.
    func writing<T>(_ operation: String, _ body: (Database) throws -> T) throws -> T {
        try guarded(operation) { try writer.write(body) }
    }

    /// One read (a consistent snapshot) around a table function.
    func reading<T>(_ operation: String, _ body: (Database) throws -> T) throws -> T {
        try guarded(operation) { try writer.read(body) }
    }

    /// Turns SQLite failures into `StorageError.catalog` naming the file and the operation; errors
    /// that already are `StorageError`s, or come from a caller's closure, pass through.
    private func guarded<T>(_ operation: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as DatabaseError {
            if error.resultCode == .SQLITE_NOTADB { throw StorageError.notSQLite(location) }
            throw StorageError.catalog(location, operation, error.description)
        }
    }

    private static func mapOpenError(_ error: DatabaseError, path: String) -> StorageError {
        switch error.resultCode {
        case .SQLITE_NOTADB, .SQLITE_CORRUPT: return .notSQLite(path)
        default: return .catalog(path, "open", error.description)
        }
    }
}
