/// Thumbnail bookkeeping: which ready assets still need one, and a crash-loop guard.
extension Catalog {
    /// How many thumbnail attempts an asset gets before it is left without one.
    public static let maxThumbnailAttempts = 2

    /// `ready` records with no thumbnail and fewer than `maxThumbnailAttempts` attempts, oldest first.
    public func assetsMissingThumbnail() throws -> [Asset] {
        try reading("assets missing thumbnail") {
            try AssetTable.missingThumbnail(maxAttempts: Catalog.maxThumbnailAttempts, $0)
        }
    }

    /// `ready` records with no thumbnail whose attempts all ended with the daemon dying mid-decode: the
    /// attempt counter is raised before decoding and reset after any outcome the daemon lived to see.
    public func assetsWithCrashedThumbnails() throws -> [Asset] {
        let now = ISO8601Millis.milliseconds(ISO8601Millis.now())
        return try reading("assets whose thumbnail decoder crashed") {
            try AssetTable.crashedThumbnails(maxAttempts: Catalog.maxThumbnailAttempts, node: nodeID, now: now, $0)
        }
    }

    /// How long a node's claim on a thumbnail lasts without a heartbeat; after that another node takes it.
    /// With the sweep every 10 s (`ThumbnailService.sweepInterval`) a lost node's thumbnails are taken over
    /// within 40 s: the SPEC's "within a minute".
    public static let thumbnailLease = Duration.seconds(30)

    /// Claims `id`'s thumbnail for this node: counts an attempt (as `beginThumbnailAttempt`) and holds a lease
    /// of `thumbnailLease`. Returns the attempt count, or `nil` when there is nothing to do here: the
    /// thumbnail exists, the asset is gone or not ready, or another node holds a live lease.
    public func claimThumbnail(id: String) throws -> Int? {
        let (now, until) = Self.leaseWindow()
        return try writing("claim thumbnail of \(id)") {
            try AssetTable.claimThumbnail(id: id, node: nodeID, now: now, until: until, $0)
        }
    }

    /// Extends the leases of this node's thumbnails in progress (call well within `thumbnailLease`).
    @discardableResult
    public func renewThumbnailLeases() throws -> Int {
        let (_, until) = Self.leaseWindow()
        return try writing("renew thumbnail leases") {
            try AssetTable.renewThumbnailLeases(node: nodeID, until: until, $0)
        }
    }

    /// Takes over up to `limit` thumbnails that no node holds (their node was lost, or never claimed them),
    /// with `FOR UPDATE SKIP LOCKED` on PostgreSQL so that nodes sweeping at once split the work.
    public func claimOrphanedThumbnails(limit: Int) throws -> [String] {
        let (now, until) = Self.leaseWindow()
        return try writing("claim orphaned thumbnails") {
            try AssetTable.claimOrphanedThumbnails(
                node: nodeID,
                maxAttempts: Catalog.maxThumbnailAttempts,
                now: now,
                until: until,
                limit: limit,
                $0
            )
        }
    }

    /// Whether other nodes may share this catalog (PostgreSQL): work then needs leases and sweeps.
    public var isShared: Bool { backend is PostgresBackend }

    private static func leaseWindow() -> (now: Int64, until: Int64) {
        let now = ISO8601Millis.milliseconds(ISO8601Millis.now())
        return (now, now + thumbnailLease.components.seconds * 1000)
    }

    /// `ready` records with no thumbnail whose last attempt never ended (the daemon died while it ran, maybe
    /// because of another asset rendering beside it): the thumbnail service renders these one at a time.
    public func assetsWithInterruptedThumbnail() throws -> [Asset] {
        try reading("assets whose thumbnail attempt was interrupted") {
            try AssetTable.interruptedThumbnails(maxAttempts: Catalog.maxThumbnailAttempts, $0)
        }
    }

    /// Counts one more thumbnail attempt for `id` and returns the new count. Committed before the
    /// decoder runs, so a file that crashes the process is not retried forever.
    /// Throws `.notFound` if there is no such asset.
    public func beginThumbnailAttempt(id: String) throws -> Int {
        try writing("begin thumbnail attempt of \(id)") { try AssetTable.beginThumbnailAttempt(id: id, $0) }
    }

    /// Sets `id`'s attempt count back to 0 (after success, or when an operator retries).
    /// Throws `.notFound` if there is no such asset.
    public func resetThumbnailAttempts(id: String) throws {
        try writing("reset thumbnail attempts of \(id)") { try AssetTable.resetThumbnailAttempts(id: id, $0) }
    }
}
