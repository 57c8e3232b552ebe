/// The ingest pipeline's crash-safety journal.
extension Catalog {
    /// Journals `move`, returning it with its assigned id; on disk before this returns (a rename follows). A lost
    /// PostgreSQL server fails it at once: nothing has moved yet.
    @discardableResult
    public func addPendingMove(_ move: PendingMove) throws -> PendingMove {
        try writingToStart("add pending move of \(move.sourcePath)", durable: true) {
            try PendingMoveTable.add(move, $0)
        }
    }

    /// Replaces the journal entry with `move.id` (durably). Throws `.notFound` if there is none.
    public func updatePendingMove(_ move: PendingMove) throws {
        try writing("update pending move \(move.id)", durable: true) { try PendingMoveTable.update(move, $0) }
    }

    /// Drops the journal entry `id`. Throws `.notFound` if there is none.
    public func removePendingMove(id: Int64) throws {
        try writing("remove pending move \(id)") { try PendingMoveTable.remove(id: id, $0) }
    }

    /// This node's journal entries, oldest first (with SQLite, one node: every entry).
    public func pendingMoves() throws -> [PendingMove] {
        try reading("list pending moves") { try PendingMoveTable.all($0) }
    }

    /// The journal entries node `node` wrote, oldest first (a take-over of a node that is not running).
    public func pendingMoves(node: String) throws -> [PendingMove] {
        try reading("list pending moves of \(node)") { try PendingMoveTable.all(node: node, $0) }
    }

    /// Every node's journal entries, oldest first: files some node has in flight.
    public func allPendingMoves() throws -> [PendingMove] {
        try reading("list every node's pending moves") { try PendingMoveTable.all(everyNode: true, $0) }
    }
}
