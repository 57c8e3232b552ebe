import Foundation

/// The SQL of the `jobs` queue, in small operations that each run on a connection the caller holds (one
/// transaction per operation through `Catalog+Jobs`), on SQLite and on PostgreSQL.
///
/// `ON CONFLICT … DO UPDATE` works on both. The one difference is the claim: on PostgreSQL its `SELECT`s end
/// in `FOR UPDATE SKIP LOCKED`, so that nodes claiming at once skip each other's rows instead of waiting;
/// SQLite serializes writers and needs no lock clause.
enum JobTable {
    /// The columns a ``Job`` is read from, in order.
    enum Column: String, CatalogColumns {
        case id, kind
        case assetID = "asset_id"
        case params, state, attempts
        case leaseOwner = "lease_owner"
        case leaseExpires = "lease_expires"
        case lastError = "last_error"

        static let table = "jobs"
    }

    /// Queues `kind` for `assetID`, or re-queues a queued or failed one with fresh attempts and `params`
    /// (`onlyFailed`: a failed one only, so that a queued job keeps the attempts that tell of crashes).
    /// A running job is left alone. Returns whether a row was written.
    @discardableResult
    static func enqueue(
        _ kind: Job.Kind,
        assetID: String,
        params: String,
        onlyFailed: Bool = false,
        now: Date,
        _ db: any CatalogConnection
    ) throws -> Bool {
        let millis = ISO8601Millis.milliseconds(now)
        return try db.execute(
            """
            INSERT INTO jobs (kind, asset_id, params, priority, state, attempts, created_at, updated_at)
            VALUES (?, ?, ?, ?, 'queued', 0, ?, ?)
            ON CONFLICT (asset_id, kind) DO UPDATE SET
                params = excluded.params, state = 'queued', attempts = 0, lease_owner = NULL,
                lease_expires = NULL, last_error = NULL, updated_at = excluded.updated_at
            WHERE jobs.state \(onlyFailed ? "= 'failed'" : "<> 'running'")
            """,
            [kind.rawValue, assetID, params, kind.priority, millis, millis]
        ) > 0
    }

    /// The claim's candidate: the first job of `kinds` in priority order that is queued, or running under a
    /// lease that lapsed (its node died), among `among`; locked for the claim (`locking`) or only looked at.
    /// On SQLite, one indexed look-up per kind and state (``claimCandidateSQL(lapsed:among:locking:dialect:)``),
    /// each reading the first row in order however many jobs wait: one query with `kind IN (…)` and both states
    /// sorted every queued job, inside the only writer, at each claim.
    static func claimCandidate(
        kinds: [Job.Kind],
        among: Job.Attempted,
        now: Date,
        locking: Bool,
        _ db: any CatalogConnection
    ) throws -> Int64? {
        if db.dialect == .postgres {
            // Several nodes claim at once: one statement locks only the row it returns and skips the rows other
            // nodes are claiming. (One look-up per kind and state would lock the best row of each, and a node
            // claiming beside it would find them all taken.)
            let marks = bindMarkers(kinds.count)
            let arguments: [any CatalogBindable] = kinds.map(\.rawValue) + [ISO8601Millis.milliseconds(now)]
            let sql = """
                SELECT id FROM jobs
                WHERE kind IN (\(marks)) AND (state = 'queued' OR (state = 'running' AND lease_expires < ?))\(
                    among.condition)
                ORDER BY priority, id LIMIT 1
                """ + (locking ? " FOR UPDATE SKIP LOCKED" : "")
            return try db.fetchOne(sql, arguments)?.get(0, as: Int64.self)
        }
        var best: (priority: Int64, id: Int64)?
        for kind in kinds {
            for lapsed in [false, true] {
                let sql = claimCandidateSQL(lapsed: lapsed, among: among)
                let arguments: [any CatalogBindable] =
                    lapsed ? [kind.rawValue, ISO8601Millis.milliseconds(now)] : [kind.rawValue]
                guard let row = try db.fetchOne(sql, arguments) else { continue }
                let found = (priority: try row.get(0, as: Int64.self), id: try row.get(1, as: Int64.self))
                if best.map({ (found.priority, found.id) < ($0.priority, $0.id) }) ?? true { best = found }
            }
        }
        return best?.id
    }

    /// SQLite: the first job of one kind (`?`) that is queued, or running under a lease that lapsed before `?`
    /// (`lapsed`), among `among`: `priority, id`, read from the `jobs_claim_by_kind` index in order.
    static func claimCandidateSQL(lapsed: Bool, among: Job.Attempted) -> String {
        let state = lapsed ? "state = 'running' AND lease_expires < ?" : "state = 'queued'"
        return
            "SELECT priority, id FROM jobs WHERE kind = ? AND \(state)\(among.condition) ORDER BY priority, id LIMIT 1"
    }

    /// Leases the next job of `kinds` (among `among`) to `node` until `now + lease`, counting one attempt unless
    /// it is only held (`countingAttempt` false: started later by ``start(_:node:now:lease:_:)``); nil when none
    /// waits.
    static func claim(
        kinds: [Job.Kind],
        among: Job.Attempted = .any,
        countingAttempt: Bool = true,
        node: String,
        now: Date,
        lease: Duration,
        _ db: any CatalogConnection
    ) throws -> Job? {
        guard let id = try claimCandidate(kinds: kinds, among: among, now: now, locking: true, db) else { return nil }
        try db.execute(
            """
            UPDATE jobs SET state = 'running', attempts = attempts + ?, lease_owner = ?, \(renewedLease)
            WHERE id = ?
            """,
            [countingAttempt ? 1 : 0, node] + leaseArguments(now: now, lease: lease) + [id]
        )
        return try job(id: id, db)
    }

    /// The columns a lease taken or renewed at `now` sets: it lasts until `now + lease`, and the row is stamped
    /// `now`. Bound by ``leaseArguments(now:lease:)``.
    private static let renewedLease = "lease_expires = ?, updated_at = ?"

    private static func leaseArguments(now: Date, lease: Duration) -> [any CatalogBindable] {
        let nowMillis = ISO8601Millis.milliseconds(now)
        return [nowMillis + lease.milliseconds, nowMillis]
    }

    /// The rows a claim still holds: the job, running, leased to the node that claimed it, with the attempts it
    /// had then (a later claim of the same job differs in owner or attempts). Bound by ``claimArguments(_:_:)``.
    private static let heldByClaim = "id = ? AND lease_owner = ? AND attempts = ? AND state = 'running'"

    private static func claimArguments(_ claim: Job, _ node: String) -> [any CatalogBindable] {
        [claim.id, node, claim.attempts]
    }

    /// Whether `claim` (a job as `node` claimed or started it) is still held: not cancelled, not taken over.
    static func holds(_ claim: Job, node: String, _ db: any CatalogConnection) throws -> Bool {
        try db.fetchOne("SELECT id FROM jobs WHERE \(heldByClaim)", claimArguments(claim, node)) != nil
    }

    /// Starts `claim`, a job `node` holds without an attempt counted: counts the attempt and renews the lease;
    /// nil when the claim was lost meanwhile (cancelled, or taken over once its lease lapsed).
    static func start(
        _ claim: Job,
        node: String,
        now: Date,
        lease: Duration,
        _ db: any CatalogConnection
    ) throws -> Job? {
        let changed = try db.execute(
            """
            UPDATE jobs SET attempts = attempts + 1, \(renewedLease)
            WHERE \(heldByClaim)
            """,
            leaseArguments(now: now, lease: lease) + claimArguments(claim, node)
        )
        guard changed > 0 else { return nil }
        var started = claim
        started.attempts += 1
        return started
    }

    /// Renews `node`'s lease on `id`; false when the job is no longer `node`'s (cancelled, or taken over).
    static func heartbeat(
        id: Int64,
        node: String,
        now: Date,
        lease: Duration,
        _ db: any CatalogConnection
    ) throws -> Bool {
        try db.execute(
            """
            UPDATE jobs SET \(renewedLease)
            WHERE id = ? AND lease_owner = ? AND state = 'running'
            """,
            leaseArguments(now: now, lease: lease) + [id, node]
        ) > 0
    }

    /// Removes `node`'s finished job `id`; false when it was no longer `node`'s.
    @discardableResult
    static func complete(id: Int64, node: String, _ db: any CatalogConnection) throws -> Bool {
        try db.execute("DELETE FROM jobs WHERE id = ? AND lease_owner = ?", [id, node]) > 0
    }

    /// Gives up `claim` (a job as `node` claimed it) for good with `error`, kept for `repair` and operators to
    /// see; false when the claim is no longer held (the lease lapsed and another claim took the job over).
    @discardableResult
    static func fail(_ claim: Job, node: String, error: String, now: Date, _ db: any CatalogConnection) throws -> Bool {
        try db.execute(
            """
            UPDATE jobs SET state = 'failed', last_error = ?, lease_owner = NULL, lease_expires = NULL,
                updated_at = ?
            WHERE \(heldByClaim)
            """,
            [error, ISO8601Millis.milliseconds(now)] + claimArguments(claim, node)
        ) > 0
    }

    /// Puts `claim` (a job as `node` claimed it) back in the queue and gives its attempt back (stopped, not
    /// crashed), or none when it was only held (`started` false: its attempt was never counted). A later claim of
    /// the same job (its attempts differ) is left alone.
    static func release(
        _ claim: Job,
        started: Bool = true,
        node: String,
        now: Date,
        _ db: any CatalogConnection
    ) throws {
        try db.execute(
            """
            UPDATE jobs SET state = 'queued', attempts = CASE WHEN attempts >= ? THEN attempts - ? ELSE 0 END,
                lease_owner = NULL, lease_expires = NULL, updated_at = ?
            WHERE \(heldByClaim)
            """,
            [started ? 1 : 0, started ? 1 : 0, ISO8601Millis.milliseconds(now)] + claimArguments(claim, node)
        )
    }

    /// Lets the leases `node` held before it restarted lapse at once: those jobs were cut short by its death.
    static func expireLeases(of node: String, _ db: any CatalogConnection) throws -> Int {
        try db.execute("UPDATE jobs SET lease_expires = 0 WHERE state = 'running' AND lease_owner = ?", [node])
    }

    /// Deletes every job of `assetID` (a running one notices at its next heartbeat).
    static func cancel(assetID: String, _ db: any CatalogConnection) throws -> Int {
        try db.execute("DELETE FROM jobs WHERE asset_id = ?", [assetID])
    }

    /// Deletes every job of `project`'s assets; call before the records go.
    static func cancel(project: ProjectID, _ db: any CatalogConnection) throws -> Int {
        try db.execute(
            "DELETE FROM jobs WHERE asset_id IN (SELECT id FROM assets WHERE project_id = ?)",
            [project.rawValue]
        )
    }

    /// Whether a job of `kinds` that was tried before (a suspect) could be claimed now.
    static func suspectWaits(kinds: [Job.Kind], now: Date, _ db: any CatalogConnection) throws -> Bool {
        try claimCandidate(kinds: kinds, among: .suspects, now: now, locking: false, db) != nil
    }

    /// Jobs of `kinds` queued or running, on every node.
    static func pending(kinds: [Job.Kind], _ db: any CatalogConnection) throws -> Int {
        let marks = bindMarkers(kinds.count)
        return try db.fetchOne(
            "SELECT COUNT(*) FROM jobs WHERE kind IN (\(marks)) AND state IN ('queued', 'running')",
            kinds.map(\.rawValue)
        )?.get(0) ?? 0
    }

    static func job(id: Int64, _ db: any CatalogConnection) throws -> Job? {
        try db.fetchOne("SELECT \(Column.list) FROM jobs WHERE id = ?", [id]).map(decode)
    }

    /// Every job of `assetID`, in priority order.
    static func jobs(assetID: String, _ db: any CatalogConnection) throws -> [Job] {
        try db.fetch("SELECT \(Column.list) FROM jobs WHERE asset_id = ? ORDER BY priority, id", [assetID]).map(decode)
    }

    private static func decode(_ row: CatalogRow) throws -> Job {
        let kindName: String = try row.get(Column.kind)
        let stateName: String = try row.get(Column.state)
        guard let kind = Job.Kind(rawValue: kindName) else {
            throw StorageError.invalidValue("jobs.kind", kindName, "unknown job kind")
        }
        guard let state = Job.State(rawValue: stateName) else {
            throw StorageError.invalidValue("jobs.state", stateName, "unknown job state")
        }
        let expires: Int64? = try row.optional(Column.leaseExpires)
        return Job(
            id: try row.get(Column.id),
            kind: kind,
            assetID: try row.get(Column.assetID),
            params: try row.get(Column.params),
            state: state,
            attempts: try row.get(Column.attempts),
            leaseOwner: try row.optional(Column.leaseOwner),
            leaseExpires: expires.map { ISO8601Millis.date(milliseconds: $0) },
            lastError: try row.optional(Column.lastError)
        )
    }
}

extension Duration {
    /// Whole milliseconds.
    var milliseconds: Int64 { components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000 }
}

extension Job.Attempted {
    /// The SQL condition (with its leading `AND`) that selects these jobs.
    var condition: String {
        switch self {
        case .any: ""
        case .fresh: " AND attempts = 0"
        case .suspects: " AND attempts > 0"
        }
    }
}
