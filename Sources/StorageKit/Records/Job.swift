import Foundation

/// One unit of background work on an asset, as the catalog's `jobs` table keeps it: queued, leased by a node
/// while it runs (the lease is renewed by heartbeats and lapses when that node dies), or failed for good.
public struct Job: Sendable, Equatable, Identifiable {
    /// What the job makes. Lower `priority` runs first: thumbnails, then sprites, then renditions.
    public enum Kind: String, Sendable, CaseIterable {
        case thumbnail
        case sprite
        case renditions

        /// 0 runs before 1 before 2.
        public var priority: Int {
            switch self {
            case .thumbnail: 0
            case .sprite: 1
            case .renditions: 2
            }
        }
    }

    /// Which jobs a claim may take, by their attempts so far.
    public enum Attempted: Sendable {
        case any
        /// Never tried, or every try given back (a stop).
        case fresh
        /// Tried before without an end: the process died during an attempt (perhaps because of this job, perhaps
        /// because of another running beside it). Such a job is best run alone.
        case suspects
    }

    /// Where a job stands. A finished job's row is deleted; the record shows what it made.
    public enum State: String, Sendable {
        case queued
        case running
        /// Given up: an error the job cannot get past, or `maxAttempts` attempts that never ended.
        case failed
    }

    public var id: Int64
    public var kind: Kind
    public var assetID: String
    /// What to make, fixed when the job was queued (e.g. `mp4:720p,480p`, or the sprite interval), so that a
    /// reload changing the configuration applies to assets queued afterwards.
    public var params: String
    public var state: State
    /// Claims so far, counted when claimed: an attempt the process did not live to finish still counts.
    public var attempts: Int
    /// The `NODE_ID` holding the lease while running.
    public var leaseOwner: String?
    /// When the lease lapses unless renewed.
    public var leaseExpires: Date?
    public var lastError: String?

    /// How many attempts that never ended (a crash of the decoder takes the process with it) are allowed
    /// before the job is given up.
    public static let maxAttempts = 2
}
