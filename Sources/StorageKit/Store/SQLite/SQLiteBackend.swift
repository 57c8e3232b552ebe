import Foundation
import GRDB

/// The catalog in SQLite through GRDB: on disk a WAL-mode `DatabasePool` (readers never wait for the
/// writer), or a private in-memory `DatabaseQueue` for tests. One node only: SQLite has no other writer.
struct SQLiteBackend: CatalogBackend {
    let writer: any DatabaseWriter
    let location: String
    /// Carries the writes that wait at the same time in one transaction (``SQLiteWriteCombiner``).
    let combiner: SQLiteWriteCombiner
    /// Flushes the WAL after a durable write; nil in memory.
    let walSync: WriteAheadLogSync?

    /// Opens (creating it if needed) the database file at `path` and brings its schema up to date.
    static func open(path: String) throws -> SQLiteBackend {
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
            try SQLiteMigrations.migrator.migrate(pool)
            return SQLiteBackend(
                writer: pool,
                location: path,
                combiner: SQLiteWriteCombiner(writer: pool),
                walSync: WriteAheadLogSync(databasePath: path)
            )
        } catch let error as DatabaseError {
            throw mapOpenError(error, path: path)
        }
    }

    /// A private database in memory.
    static func inMemory() throws -> SQLiteBackend {
        do {
            let queue = try DatabaseQueue(configuration: Configuration())
            try SQLiteMigrations.migrator.migrate(queue)
            return SQLiteBackend(
                writer: queue,
                location: ":memory:",
                combiner: SQLiteWriteCombiner(writer: queue),
                walSync: nil
            )
        } catch let error as DatabaseError {
            throw StorageError.catalog(":memory:", "open", error.description)
        }
    }

    func write<T>(_ operation: String, nodeID: String, _ body: (any CatalogConnection) throws -> T) throws -> T {
        try guarded(operation) { try combiner.write { db in try body(SQLiteConnection(db: db, nodeID: nodeID)) } }
    }

    /// GRDB's WAL set-up leaves `synchronous = NORMAL`: a commit is durable only at the next checkpoint, so a
    /// power cut could lose a journal row whose rename had already happened. A durable write commits as the
    /// others do and then flushes the WAL (``WriteAheadLogSync``) before it returns; the others — the `ready`
    /// update, events, thumbnails — are left to the next checkpoint, and a lost one is redone by recovery.
    func writeDurably<T>(_ operation: String, nodeID: String, _ body: (any CatalogConnection) throws -> T) throws -> T {
        let result = try write(operation, nodeID: nodeID, body)
        try walSync?.flush()
        return result
    }

    func read<T>(_ operation: String, nodeID: String, _ body: (any CatalogConnection) throws -> T) throws -> T {
        try guarded(operation) { try writer.read { db in try body(SQLiteConnection(db: db, nodeID: nodeID)) } }
    }

    func watchEvents(_ wake: @escaping @Sendable () -> Void) -> (any CatalogEventWatch)? { nil }

    var unavailableReason: String? { nil }

    func exclusively<T>(_ key: Int64, busy: String, _ body: () throws -> T) throws -> T { try body() }

    func withAdvisoryLock<T>(_ key: Int64, shared: Bool, purpose: String, _ body: () throws -> T) throws -> T? {
        try SQLiteProcessLocks.holding(ObjectIdentifier(writer as AnyObject), key, shared: shared, body)
    }

    func close() {}

    var isClosed: Bool { false }

    /// Turns SQLite failures into `StorageError.catalog` naming the file and the operation; errors
    /// that already are `StorageError`s, or come from a caller's closure, pass through.
    private func guarded<T>(_ operation: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as DatabaseError {
            if error.resultCode == .SQLITE_NOTADB { throw StorageError.notSQLite(location) }
            throw StorageError.catalog(location, operation, error.description)
        } catch let error as CatalogConstraintViolation {
            throw StorageError.catalog(location, operation, error.message)
        }
    }

    static func mapOpenError(_ error: DatabaseError, path: String) -> StorageError {
        switch error.resultCode {
        case .SQLITE_NOTADB, .SQLITE_CORRUPT: return .notSQLite(path)
        case .SQLITE_READONLY, .SQLITE_PERM, .SQLITE_CANTOPEN, .SQLITE_AUTH:
            // Said in words, not as the statement SQLite failed on (GRDB's own probe of the file).
            let reason = error.message ?? "\(error.resultCode)"
            return .catalog(path, "open", "\(reason): the daemon's user (uid \(geteuid())) must be able to write it")
        default: return .catalog(path, "open", error.description)
        }
    }
}
