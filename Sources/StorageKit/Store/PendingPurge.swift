import Foundation

/// A journal entry of a project purge (`pending_purges`): the project's records are gone, and its files may
/// not all be. Written in the transaction that removes the records and removed once the files are gone, so
/// that start-up and `repair` (on any node) finish a purge that a crash cut short.
public struct PendingPurge: Sendable, Equatable {
    public var projectID: String
    /// Names one run of the purge: a later purge of the same project takes the entry over with its own, and
    /// only the run that holds it removes it.
    public var token: String = UUID().uuidString.lowercased()
    /// The node that ran the purge.
    public var node: String
    /// When the records went, as the storage's filesystem stamps changes (the clock of the files it is compared
    /// with). A file that arrived in a folder without records (`rejected/`) after this is a new file, not the
    /// purge's.
    public var startedAt: Date = ISO8601Millis.now()
}

/// The SQL of the `pending_purges` journal: one row per project at most.
enum PendingPurgeTable {
    /// Writes `purge`, taking over the entry of an earlier run of the same project.
    static func put(_ purge: PendingPurge, _ db: any CatalogConnection) throws {
        try db.execute(
            """
            INSERT INTO pending_purges (project_id, token, node, started_at) VALUES (?, ?, ?, ?)
            ON CONFLICT (project_id) DO UPDATE
                SET token = excluded.token, node = excluded.node, started_at = excluded.started_at
            """,
            [purge.projectID, purge.token, purge.node, ISO8601Millis.milliseconds(purge.startedAt)]
        )
    }

    /// Removes `purge`'s entry if it still is that run's; answers whether it did.
    static func remove(_ purge: PendingPurge, _ db: any CatalogConnection) throws -> Bool {
        try db.execute(
            "DELETE FROM pending_purges WHERE project_id = ? AND token = ?",
            [purge.projectID, purge.token]
        ) > 0
    }

    /// Every entry (all nodes'), oldest first; with `project`, that project's only.
    static func all(project: String? = nil, _ db: any CatalogConnection) throws -> [PendingPurge] {
        let columns = "SELECT project_id, token, node, started_at FROM pending_purges"
        let rows =
            if let project {
                try db.fetch(columns + " WHERE project_id = ?", [project])
            } else {
                try db.fetch(columns + " ORDER BY started_at, project_id", [])
            }
        return try rows.map { row in
            PendingPurge(
                projectID: try row.get(0),
                token: try row.get(1),
                node: try row.get(2),
                startedAt: ISO8601Millis.date(milliseconds: try row.get(3))
            )
        }
    }
}

/// The purge journal.
extension Catalog {
    /// Every purge that removed its project's records and has not removed all its files yet, oldest first.
    public func pendingPurges() throws -> [PendingPurge] {
        try reading("list pending purges") { try PendingPurgeTable.all($0) }
    }

    /// The pending purge of `project`, `nil` when there is none.
    public func pendingPurge(of project: ProjectID) throws -> PendingPurge? {
        try reading("read pending purge of \(project)") {
            try PendingPurgeTable.all(project: project.rawValue, $0).first
        }
    }

    /// Drops `purge`'s entry (its files are gone), unless a later run of the same project took it over; answers
    /// whether it was dropped.
    @discardableResult
    public func removePendingPurge(_ purge: PendingPurge) throws -> Bool {
        try writing("remove pending purge of \(purge.projectID)") { try PendingPurgeTable.remove(purge, $0) }
    }

    /// Runs `body` holding `project`'s purge lock: `finishing` (start-up, `repair`) only tries it, alone, and
    /// answers `nil` without running `body` while anyone else holds it; a purge the operator ordered shares it
    /// with other such purges and waits while one finishes. Across nodes on PostgreSQL (the server lets go of
    /// a dead node's lock), within this process on SQLite.
    func withPurgeLock<T>(_ project: ProjectID, finishing: Bool, _ body: () throws -> T) throws -> T? {
        try backend.withAdvisoryLock(
            Self.purgeLockKey(project),
            shared: !finishing,
            purpose: "purge of \(project)",
            body
        )
    }

    /// The advisory lock key of `project`'s purge: a 48-bit FNV-1a hash of its id under a fixed prefix, so it
    /// never meets the repair and migration keys nor the per-project keys of `lockProject`.
    static func purgeLockKey(_ project: ProjectID) -> Int64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in project.rawValue.utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        return Int64(bitPattern: 0x6970_0000_0000_0000 | (hash & 0x0000_ffff_ffff_ffff))
    }
}

extension CatalogTransaction {
    /// Journals `purge` (taking over an earlier entry of the same project) with the removal of its records.
    public func putPendingPurge(_ purge: PendingPurge) throws { try PendingPurgeTable.put(purge, db) }
}
