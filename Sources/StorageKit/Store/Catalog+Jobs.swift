import Foundation

/// The background-work queue (`jobs`): one transaction per operation.
extension Catalog {
    /// How long a claim holds without a heartbeat: a node that dies loses its jobs to others after this.
    public static let jobLease = Duration.seconds(30)

    /// Queues `kind` for `assetID` (or re-queues it, unless it is running; with `onlyFailed`, unless it is
    /// running or queued already, keeping a queued job's attempts).
    @discardableResult
    public func enqueueJob(_ kind: Job.Kind, assetID: String, params: String, onlyFailed: Bool = false) throws -> Bool {
        try writing("queue \(kind.rawValue) job of \(assetID)") {
            try JobTable.enqueue(kind, assetID: assetID, params: params, onlyFailed: onlyFailed, now: Date(), $0)
        }
    }

    /// Leases the next job of `kinds` (among `among`) to this node (`nodeID`), counting an attempt; nil when
    /// none waits. A lost server is not waited for: the job stays queued.
    public func claimJob(
        kinds: [Job.Kind],
        among: Job.Attempted = .any,
        lease: Duration = Catalog.jobLease,
        now: Date = Date()
    ) throws -> Job? {
        try claimJobs(kinds: kinds, among: among, atMost: 1, lease: lease, now: now).first
    }

    /// Leases up to `atMost` of the next jobs of `kinds` (among `among`) to this node in one transaction, in the
    /// order they are to run; empty when none waits. The first counts an attempt; the others are only held, and
    /// count theirs when ``startJob(_:lease:)`` starts them, so that a crash is charged to the jobs that were
    /// running and to none that waited in the batch.
    public func claimJobs(
        kinds: [Job.Kind],
        among: Job.Attempted = .any,
        atMost: Int,
        lease: Duration = Catalog.jobLease,
        now: Date = Date()
    ) throws -> [Job] {
        try writingToStart("claim jobs") { db in
            var claimed: [Job] = []
            while claimed.count < atMost,
                let job = try JobTable.claim(
                    kinds: kinds,
                    among: among,
                    countingAttempt: claimed.isEmpty,
                    node: nodeID,
                    now: now,
                    lease: lease,
                    db
                )
            {
                claimed.append(job)
            }
            return claimed
        }
    }

    /// Starts `claim`, a job a batch claim held without counting its attempt: counts it and renews the lease.
    /// Nil when the claim was lost meanwhile (cancelled, or taken over after its lease lapsed): not to be run.
    public func startJob(_ claim: Job, lease: Duration = Catalog.jobLease) throws -> Job? {
        try writingToStart("start job \(claim.id)") {
            try JobTable.start(claim, node: nodeID, now: Date(), lease: lease, $0)
        }
    }

    /// Whether a job of `kinds` tried before without an end (see `Job.Attempted.suspects`) could be claimed now.
    public func suspectJobWaits(kinds: [Job.Kind], now: Date = Date()) throws -> Bool {
        try reading("look for suspect jobs") { try JobTable.suspectWaits(kinds: kinds, now: now, $0) }
    }

    /// Renews this node's lease on `id`; false when the job was cancelled or taken over. A lost server is not
    /// waited for: the lease lapses if the server stays away, and another node may take the job over.
    public func heartbeatJob(id: Int64, lease: Duration = Catalog.jobLease) throws -> Bool {
        try writingToStart("heartbeat job \(id)") {
            try JobTable.heartbeat(id: id, node: nodeID, now: Date(), lease: lease, $0)
        }
    }

    /// Removes this node's finished job `id`.
    public func completeJob(id: Int64) throws {
        try writing("complete job \(id)") { _ = try JobTable.complete(id: id, node: nodeID, $0) }
    }

    /// Gives up this node's `claim` for good, keeping `error`; false when the claim was lost meanwhile (another
    /// node took the job over once the lease lapsed).
    @discardableResult
    public func failJob(_ claim: Job, error: String) throws -> Bool {
        try writing("fail job \(claim.id)") { try JobTable.fail(claim, node: nodeID, error: error, now: Date(), $0) }
    }

    /// Puts this node's `claim` back in the queue without counting the attempt (a stop, not a crash).
    public func releaseJob(_ claim: Job) throws {
        try writing("release job \(claim.id)") { try JobTable.release(claim, node: nodeID, now: Date(), $0) }
    }

    /// Puts `claims` back in the queue in one write: jobs a batch claim held and that were never started (see
    /// ``claimJobs(kinds:among:atMost:lease:now:)``), whose attempts stay as they were before the claim.
    public func releaseHeldJobs(_ claims: [Job]) throws {
        guard !claims.isEmpty else { return }
        try writing("release \(claims.count) held jobs") { db in
            for claim in claims {
                try JobTable.release(claim, started: false, node: nodeID, now: Date(), db)
            }
        }
    }

    /// At start-up: the jobs this node was running when it died are free to be claimed again (their attempt
    /// stays counted). Returns how many.
    @discardableResult
    public func expireOwnJobLeases() throws -> Int {
        try writing("expire leases of \(nodeID)") { try JobTable.expireLeases(of: nodeID, $0) }
    }

    /// Cancels every job of `assetID`.
    @discardableResult
    public func cancelJobs(assetID: String) throws -> Int {
        try writing("cancel jobs of \(assetID)") { try JobTable.cancel(assetID: assetID, $0) }
    }

    /// Cancels every job of `project`'s assets (before its records go).
    @discardableResult
    public func cancelJobs(project: ProjectID) throws -> Int {
        try writing("cancel jobs of project \(project)") { try JobTable.cancel(project: project, $0) }
    }

    /// Whether other nodes may share this catalog (PostgreSQL): work then needs leases and sweeps.
    public var isShared: Bool { backend is PostgresBackend }

    /// Jobs of `kinds` queued or running on any node.
    public func pendingJobs(kinds: [Job.Kind]) throws -> Int {
        try reading("count pending jobs") { try JobTable.pending(kinds: kinds, $0) }
    }

    /// Whether `claim` (a job as this node claimed or started it) is still this node's: not cancelled, not
    /// taken over by another claim since.
    public func holdsJob(_ claim: Job) throws -> Bool {
        try reading("look at job \(claim.id)") { try JobTable.holds(claim, node: nodeID, $0) }
    }

    /// Every job of `assetID`, in priority order.
    public func jobs(assetID: String) throws -> [Job] {
        try reading("jobs of \(assetID)") { try JobTable.jobs(assetID: assetID, $0) }
    }
}

extension CatalogTransaction {
    /// Queues `kind` for `assetID` within this transaction (with the record change that calls for it).
    @discardableResult
    public func enqueueJob(_ kind: Job.Kind, assetID: String, params: String, onlyFailed: Bool = false) throws -> Bool {
        try JobTable.enqueue(kind, assetID: assetID, params: params, onlyFailed: onlyFailed, now: Date(), db)
    }

    /// Gives up this node's `claim` within this transaction (with the record change that says so); false when
    /// the claim was lost meanwhile.
    @discardableResult
    public func failJob(_ claim: Job, error: String) throws -> Bool {
        try JobTable.fail(claim, node: nodeID, error: error, now: Date(), db)
    }

    /// Removes this node's finished job `id` within this transaction (with the record of what it made).
    @discardableResult
    public func completeJob(id: Int64) throws -> Bool { try JobTable.complete(id: id, node: nodeID, db) }

    /// Cancels every job of `project`'s assets within this transaction (before its records go).
    @discardableResult
    public func cancelJobs(project: ProjectID) throws -> Int { try JobTable.cancel(project: project, db) }

    /// Cancels every job of `assetID` within this transaction.
    @discardableResult
    public func cancelJobs(assetID: String) throws -> Int { try JobTable.cancel(assetID: assetID, db) }
}
