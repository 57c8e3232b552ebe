/// The catalog inside one write transaction (see `Catalog.write(_:)`). Its methods have the same
/// meaning as `Catalog`'s; nothing is visible to readers until the transaction commits, and all
/// of it is rolled back if the closure throws. Valid only inside that closure.
public struct CatalogTransaction {
    let db: any CatalogConnection
    /// The `NODE_ID` of the catalog that opened the transaction (the owner of its job leases).
    let nodeID: String

    /// Stores a new record. Throws `.conflict` if its id or relative path is taken.
    public func insert(_ asset: Asset) throws { try AssetTable.insert(asset, db) }

    /// Replaces the stored record with the same id. Throws `.notFound` if there is none.
    public func update(_ asset: Asset) throws { try AssetTable.update(asset, db) }

    /// Removes the record and returns it; `nil` if there was none.
    @discardableResult
    public func delete(id: String) throws -> Asset? { try AssetTable.delete(id: id, db) }

    /// Removes `project`'s records (but those still `processing` when `keepingProcessing`); returns how many.
    @discardableResult
    public func deleteProject(_ project: ProjectID, keepingProcessing: Bool = false) throws -> Int {
        try AssetTable.deleteProject(project, keepingProcessing: keepingProcessing, db)
    }

    /// The record with `id`, seeing this transaction's own writes. It is locked until the transaction ends, so
    /// that a change written back from it cannot lose another node's change made meanwhile (PostgreSQL:
    /// `SELECT … FOR UPDATE`; SQLite's write transaction has the database to itself already).
    public func asset(id: String) throws -> Asset? { try AssetTable.asset(id: id, locking: true, db) }

    /// The oldest `ready` or `processing` record of `project` with `checksum`.
    public func existing(project: ProjectID, checksum: String) throws -> Asset? {
        try AssetTable.existing(project: project, checksum: checksum, db)
    }

    /// Sum of `size_bytes` over `project`'s records that are not `failed`, seeing this transaction's writes.
    public func uploadBytes(project: ProjectID) throws -> Int64 { try AssetTable.uploadBytes(project: project, db) }

    /// Makes this transaction the only one deciding what enters `project` until it ends, on every node: the
    /// duplicate and quota checks that follow, and the insert they allow, cannot interleave with another's.
    /// (PostgreSQL: a transaction-scoped advisory lock; SQLite: its write transaction is exclusive already.)
    public func lockProject(_ project: ProjectID) throws {
        guard db.dialect == .postgres else { return }
        try db.execute("SELECT pg_advisory_xact_lock(hashtext(?))", ["ingestd-project:" + project.rawValue])
    }

    /// Stores `event`, returning it with its consecutive id.
    @discardableResult
    public func appendEvent(_ event: IngestEvent) throws -> IngestEvent { try EventTable.append(event, db) }

    /// Journals `move`, returning it with its id.
    @discardableResult
    public func addPendingMove(_ move: PendingMove) throws -> PendingMove { try PendingMoveTable.add(move, db) }

    /// Replaces the journal entry with `move.id`. Throws `.notFound` if there is none.
    public func updatePendingMove(_ move: PendingMove) throws { try PendingMoveTable.update(move, db) }

    /// Drops the journal entry `id`. Throws `.notFound` if there is none.
    public func removePendingMove(id: Int64) throws { try PendingMoveTable.remove(id: id, db) }
}
