/// The event log behind `GET /events`.
extension Catalog {
    /// Stores `event` and returns it with its id: consecutive (1, 2, 3 …) and never reused.
    /// Old events are pruned now and then, always keeping at least the newest 10,000.
    @discardableResult
    public func appendEvent(_ event: IngestEvent) throws -> IngestEvent {
        try writing("append \(event.type.rawValue) event") { try EventTable.append(event, node: nodeID, $0) }
    }

    /// Up to `limit` stored events with an id above `id`, oldest first.
    public func events(after id: Int64, limit: Int) throws -> [IngestEvent] {
        try reading("events after \(id)") { try EventTable.events(after: id, limit: limit, $0) }
    }

    /// The id of the newest event ever stored, `0` if none.
    public func lastEventID() throws -> Int64 {
        try reading("last event id") { try EventTable.lastID($0) }
    }
}
