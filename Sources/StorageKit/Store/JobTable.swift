import Foundation
import GRDB

/// The SQL of the `jobs` queue, in small operations that each run on a connection the caller holds (one
/// transaction per operation through `Catalog+Jobs`).
///
/// Written to port to PostgreSQL as is: `ON CONFLICT … DO UPDATE` and `RETURNING`-free statements work on
/// both. The one difference is the claim: on PostgreSQL its `SELECT` ends in `FOR UPDATE SKIP LOCKED`
/// (`claimCandidateSQL(kinds:) + " FOR UPDATE SKIP LOCKED"`), so that nodes claiming at once skip each
/// other's rows instead of waiting; SQLite serializes writers and needs no lock clause.
enum JobTable {
    static let columns = "id, kind, asset_id, params, state, attempts, lease_owner, lease_expires, last_error"

    /// Queues `kind` for `assetID`, or re-queues a queued or failed one with fresh attempts and `params`.
    /// A running job is left alone. Returns whether a row was written.
    @discardableResult
    static func enqueue(_ kind: Job.Kind, assetID: String, params: String, now: Date, _ db: Database) throws -> Bool {
        let millis = ISO8601Millis.milliseconds(now)
        try db.execute(
            sql: """
                INSERT INTO jobs (kind, asset_id, params, priority, state, attempts, created_at, updated_at)
                VALUES (?, ?, ?, ?, 'queued', 0, ?, ?)
                ON CONFLICT (asset_id, kind) DO UPDATE SET
                    params = excluded.params, state = 'queued', attempts = 0, lease_owner = NULL,
                    lease_expires = NULL, last_error = NULL, updated_at = excluded.updated_at
                WHERE jobs.state <> 'running'
                """,
            arguments: [kind.rawValue, assetID, params, kind.priority, millis, millis])
        return db.changesCount > 0
    }

    /// The claim's candidate: the first queued job of `kinds` in priority order, or a running one whose lease
    /// lapsed (its node died). PostgreSQL appends `FOR UPDATE SKIP LOCKED`.
    static func claimCandidateSQL(kinds: [Job.Kind]) -> String {
        let marks = Array(repeating: "?", count: max(kinds.count, 1)).joined(separator: ", ")
        return """
            SELECT id FROM jobs
            WHERE kind IN (\(marks)) AND (state = 'queued' OR (state = 'running' AND lease_expires < ?))
            ORDER BY priority, id LIMIT 1
            """
    }

    /// Leases the next job of `kinds` to `node` until `now + lease`, counting one attempt; nil when none waits.
    static func claim(kinds: [Job.Kind], node: String, now: Date, lease: Duration, _ db: Database) throws -> Job? {
        let nowMillis = ISO8601Millis.milliseconds(now)
        var candidateArguments = StatementArguments(kinds.map(\.rawValue))
        candidateArguments += [nowMillis]
        guard let id = try Int64.fetchOne(db, sql: claimCandidateSQL(kinds: kinds), arguments: candidateArguments)
        else { return nil }
        try db.execute(
            sql: """
                UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_owner = ?, lease_expires = ?,
                    updated_at = ?
                WHERE id = ?
                """,
            arguments: [node, nowMillis + lease.milliseconds, nowMillis, id])
        return try job(id: id, db)
    }

    /// Renews `node`'s lease on `id`; false when the job is no longer `node`'s (cancelled, or taken over).
    static func heartbeat(id: Int64, node: String, now: Date, lease: Duration, _ db: Database) throws -> Bool {
        let nowMillis = ISO8601Millis.milliseconds(now)
        try db.execute(
            sql: """
                UPDATE jobs SET lease_expires = ?, updated_at = ?
                WHERE id = ? AND lease_owner = ? AND state = 'running'
                """,
            arguments: [nowMillis + lease.milliseconds, nowMillis, id, node])
        return db.changesCount > 0
    }

    /// Removes `node`'s finished job `id`; false when it was no longer `node`'s.
    @discardableResult
    static func complete(id: Int64, node: String, _ db: Database) throws -> Bool {
        try db.execute(sql: "DELETE FROM jobs WHERE id = ? AND lease_owner = ?", arguments: [id, node])
        return db.changesCount > 0
    }

    /// Gives `id` up for good with `error` (kept for `repair` and operators to see).
    static func fail(id: Int64, error: String, now: Date, _ db: Database) throws {
        try db.execute(
            sql: """
                UPDATE jobs SET state = 'failed', last_error = ?, lease_owner = NULL, lease_expires = NULL,
                    updated_at = ?
                WHERE id = ?
                """,
            arguments: [error, ISO8601Millis.milliseconds(now), id])
    }

    /// Puts `node`'s running job `id` back in the queue and gives its attempt back (stopped, not crashed).
    static func release(id: Int64, node: String, now: Date, _ db: Database) throws {
        try db.execute(
            sql: """
                UPDATE jobs SET state = 'queued', attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END,
                    lease_owner = NULL, lease_expires = NULL, updated_at = ?
                WHERE id = ? AND lease_owner = ? AND state = 'running'
                """,
            arguments: [ISO8601Millis.milliseconds(now), id, node])
    }

    /// Lets the leases `node` held before it restarted lapse at once: those jobs were cut short by its death.
    static func expireLeases(of node: String, _ db: Database) throws -> Int {
        try db.execute(
            sql: "UPDATE jobs SET lease_expires = 0 WHERE state = 'running' AND lease_owner = ?", arguments: [node])
        return db.changesCount
    }

    /// Deletes every job of `assetID` (a running one notices at its next heartbeat).
    static func cancel(assetID: String, _ db: Database) throws -> Int {
        try db.execute(sql: "DELETE FROM jobs WHERE asset_id = ?", arguments: [assetID])
        return db.changesCount
    }

    /// Deletes every job of `project`'s assets; call before the records go.
    static func cancel(project: ProjectID, _ db: Database) throws -> Int {
        try db.execute(
            sql: "DELETE FROM jobs WHERE asset_id IN (SELECT id FROM assets WHERE project_id = ?)",
            arguments: [project.rawValue])
        return db.changesCount
    }

    /// Jobs of `kinds` queued or running, on every node.
    static func pending(kinds: [Job.Kind], _ db: Database) throws -> Int {
        let marks = Array(repeating: "?", count: max(kinds.count, 1)).joined(separator: ", ")
        return try Int.fetchOne(
            db, sql: "SELECT COUNT(*) FROM jobs WHERE kind IN (\(marks)) AND state IN ('queued', 'running')",
            arguments: StatementArguments(kinds.map(\.rawValue))) ?? 0
    }

    static func job(id: Int64, _ db: Database) throws -> Job? {
        try Row.fetchOne(db, sql: "SELECT \(columns) FROM jobs WHERE id = ?", arguments: [id]).map(decode)
    }

    /// Every job of `assetID`, in priority order.
    static func jobs(assetID: String, _ db: Database) throws -> [Job] {
        try Row.fetchAll(
            db, sql: "SELECT \(columns) FROM jobs WHERE asset_id = ? ORDER BY priority, id", arguments: [assetID]
        ).map(decode)
    }

    private static func decode(_ row: Row) throws -> Job {
        let kindName: String = row[1]
        let stateName: String = row[4]
        guard let kind = Job.Kind(rawValue: kindName) else { throw StorageError.invalidValue("jobs.kind", kindName, "unknown job kind") }
        guard let state = Job.State(rawValue: stateName) else {
            throw StorageError.invalidValue("jobs.state", stateName, "unknown job state")
        }
        let expires: Int64? = row[7]
        return Job(
            id: row[0], kind: kind, assetID: row[2], params: row[3], state: state, attempts: row[5],
            leaseOwner: row[6], leaseExpires: expires.map { ISO8601Millis.date(milliseconds: $0) }, lastError: row[8])
    }
}

extension Duration {
    /// Whole milliseconds.
    var milliseconds: Int64 { components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000 }
}
