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
        try reading("assets whose thumbnail decoder crashed") {
            try AssetTable.crashedThumbnails(maxAttempts: Catalog.maxThumbnailAttempts, $0)
        }
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
