import Foundation

/// The metadata store: asset records, the event log and the journals of pending moves and purges. It lives in SQLite
/// (`open(layout:)`, one node, the default) or in PostgreSQL (`open(url:)`, several nodes sharing it); the
/// API is the same, and the table code (`AssetTable`, `EventTable`, …) is written once against
/// `CatalogConnection`. Every method is one transaction; `write(_:)` groups several.
///
/// Blocking: every method waits for the database. Call it from a thread pool, never from an event loop.
public struct Catalog: Sendable {
    let backend: any CatalogBackend
    /// This node's `NODE_ID`, stamped on the events it appends and on its journal rows.
    public let nodeID: String

    init(backend: any CatalogBackend, nodeID: String) {
        self.backend = backend
        self.nodeID = nodeID
    }

    /// The database file, or the URL without its password; named in every error.
    public var location: String { backend.location }

    /// Opens (creating it if needed) the SQLite catalog at `layout.catalogPath`, creating
    /// `STORAGE_PATH/metadata/` first, and brings its schema up to date.
    ///
    /// - Throws: `StorageError` `.io` naming the folder that cannot be created, `.catalog` naming the
    ///   file when it is not an SQLite database or cannot be opened.
    public static func open(layout: StorageLayout, nodeID: String = "local") throws -> Catalog {
        try FileOps.makeDirectories(layout.categoryPath(.metadata))
        return Catalog(backend: try SQLiteBackend.open(path: layout.catalogPath), nodeID: nodeID)
    }

    /// A private SQLite catalog in memory, for tests and benchmarks.
    public static func inMemory(nodeID: String = "local") throws -> Catalog {
        Catalog(backend: try SQLiteBackend.inMemory(), nodeID: nodeID)
    }

    /// Runs `body` in one write transaction: everything it did is committed together, or, when it
    /// throws, rolled back and the error rethrown.
    ///
    /// - Parameter durable: the commit is on disk before this returns (a journal step that a rename follows);
    ///   otherwise a power cut may lose it, which recovery must then redo.
    public func write<T>(durable: Bool = false, _ body: (CatalogTransaction) throws -> T) throws -> T {
        try writing("write", durable: durable) { try body(CatalogTransaction(db: $0, nodeID: nodeID)) }
    }

    /// Why the catalog cannot be used right now (its server is unreachable), `nil` while it can.
    public var unavailableReason: String? { backend.unavailableReason }

    /// Asks the server whether it answers (one trivial statement) and returns why it does not, `nil` when it
    /// does. Blocking: at most the connect timeout (5 s) when a PostgreSQL server is gone.
    public func checkReachable() -> String? {
        _ = try? reading("health check") { try $0.execute("SELECT 1", []) }
        return backend.unavailableReason
    }

    /// Calls `wake` whenever another node may have appended events (PostgreSQL `LISTEN`); never for SQLite.
    /// Keep the answer while waking is wanted and `stop()` it at shutdown.
    public func watchEvents(_ wake: @escaping @Sendable () -> Void) -> (any CatalogEventWatch)? {
        backend.watchEvents(wake)
    }

    /// Closes the catalog's connections (shutdown).
    public func close() { backend.close() }

    /// Whether ``close()`` was called.
    public var isClosed: Bool { backend.isClosed }

    /// One write transaction around a table function.
    func writing<T>(
        _ operation: String,
        durable: Bool = false,
        _ body: (any CatalogConnection) throws -> T
    ) throws -> T {
        durable
            ? try backend.writeDurably(operation, nodeID: nodeID, body)
            : try backend.write(operation, nodeID: nodeID, body)
    }

    /// A write that starts work: not held up by a lost server (see `CatalogBackend.writeStartingWork`).
    func writingToStart<T>(
        _ operation: String,
        durable: Bool = false,
        _ body: (any CatalogConnection) throws -> T
    ) throws -> T {
        try backend.writeStartingWork(operation, nodeID: nodeID, durable: durable, body)
    }

    /// One read around a table function.
    func reading<T>(_ operation: String, _ body: (any CatalogConnection) throws -> T) throws -> T {
        try backend.read(operation, nodeID: nodeID, body)
    }
}
