/// A place the catalog lives: SQLite through GRDB (one node, the default) or PostgreSQL through
/// postgres-nio (several nodes). `Catalog` is the API; a backend only hands out connections, in a write
/// transaction or for reading, and speaks for what only it knows.
///
/// Blocking: every call waits for the database. Call from a thread pool, not from an event loop; a call from
/// Swift's cooperative pool works but holds one of its threads meanwhile.
protocol CatalogBackend: Sendable {
    /// The database file, or the URL without its password; named in every error.
    var location: String { get }

    /// Runs `body` in one write transaction: committed together, or rolled back when it throws.
    /// Errors of the database become `StorageError.catalog` naming `operation`.
    func write<T>(_ operation: String, nodeID: String, _ body: (any CatalogConnection) throws -> T) throws -> T

    /// Like `write`, and the commit is on disk before this returns: for journal entries that must survive a
    /// power cut before the rename they describe. (Backends whose every commit is durable keep the default.)
    func writeDurably<T>(_ operation: String, nodeID: String, _ body: (any CatalogConnection) throws -> T) throws -> T

    /// Like `write` (or `writeDurably` when `durable`), for a write that *starts* work (a journal entry before
    /// anything moves, a job's claim): a lost server is not waited for — the file is still where it was and
    /// waits there, the job stays queued — while writes that finish work already begun wait for it. (Backends
    /// without a server keep the default.)
    func writeStartingWork<T>(
        _ operation: String,
        nodeID: String,
        durable: Bool,
        _ body: (any CatalogConnection) throws -> T
    ) throws -> T

    /// Runs `body` on a connection for reading.
    func read<T>(_ operation: String, nodeID: String, _ body: (any CatalogConnection) throws -> T) throws -> T

    /// Calls `wake` whenever another node may have appended events (PostgreSQL's `LISTEN`); SQLite has no
    /// other writer and never calls it. Returns something to keep alive while waking is wanted.
    func watchEvents(_ wake: @escaping @Sendable () -> Void) -> (any CatalogEventWatch)?

    /// Why the catalog cannot be used right now (`nil` while it can): the `/health` reason.
    var unavailableReason: String? { get }

    /// Runs `body` while holding the catalog-wide lock `key`, so that no other node runs the same work at the
    /// same time; throws `.conflict` saying `busy` when another node holds it. SQLite has one node: no lock.
    func exclusively<T>(_ key: Int64, busy: String, _ body: () throws -> T) throws -> T

    /// Runs `body` holding the catalog-wide lock `key`: `shared`, it waits for the lock and holds it with any
    /// other sharer; otherwise it only tries the lock, alone, and answers `nil` without running `body` while
    /// anyone else holds it. PostgreSQL: a session advisory lock, which the server lets go of when the node
    /// dies; SQLite: within this process (it has no other node).
    func withAdvisoryLock<T>(_ key: Int64, shared: Bool, purpose: String, _ body: () throws -> T) throws -> T?

    /// Closes connections (shutdown).
    func close()

    /// Whether `close()` was called: waiting for the catalog to come back is pointless then.
    var isClosed: Bool { get }
}

/// A running `LISTEN`; `stop()` ends it.
public protocol CatalogEventWatch: Sendable {
    func stop()
}

extension CatalogBackend {
    /// Every commit of this backend is durable (PostgreSQL with `synchronous_commit` on).
    func writeDurably<T>(_ operation: String, nodeID: String, _ body: (any CatalogConnection) throws -> T) throws -> T {
        try write(operation, nodeID: nodeID, body)
    }

    /// A backend that keeps no locks (a test's wrapper): nobody else to keep apart.
    func withAdvisoryLock<T>(_ key: Int64, shared: Bool, purpose: String, _ body: () throws -> T) throws -> T? {
        try body()
    }

    /// Nothing to wait for without a server.
    func writeStartingWork<T>(
        _ operation: String,
        nodeID: String,
        durable: Bool,
        _ body: (any CatalogConnection) throws -> T
    ) throws -> T {
        durable ? try writeDurably(operation, nodeID: nodeID, body) : try write(operation, nodeID: nodeID, body)
    }
}
