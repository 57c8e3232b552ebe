import Foundation

/// A journal entry of the ingest pipeline: a file on its way from the drop into storage.
/// Written before the first rename and removed after the last, so that start-up can finish or
/// roll back a move a crash interrupted.
public struct PendingMove: Codable, Sendable, Equatable {
    /// The journal stages of a move; the raw values are what the catalog stores.
    public enum Stage: String, Sendable, Equatable, CaseIterable {
        /// Renamed into staging (same filesystem); rolled back to the drop after a crash.
        case staged
        /// Being copied into staging from another filesystem; the source in the drop is authoritative.
        case copying
        /// Record inserted, being renamed into `uploads/`.
        case placing
        /// Copied from another filesystem, placed; the source in the drop is yet to be removed.
        case placedCopy = "placed-copy"
        /// An HTTP upload in staging: nothing to return it to.
        case upload

        /// The stage a stored value names. A value this version does not know (written by a newer one) reads
        /// as `staged`: recovery then returns the file to the drop, the one step that never loses it.
        init(stored: String) {
            self = Stage(rawValue: stored) ?? .staged
        }
    }

    /// Assigned by `Catalog.addPendingMove`; `0` before.
    public var id: Int64 = 0
    public var assetID: String
    public var projectID: String
    /// Absolute path of the file in the drop directory.
    public var sourcePath: String
    /// Absolute path of the file in `STORAGE_PATH/.staging`.
    public var stagingPath: String
    /// Where the file goes, relative to `STORAGE_PATH`, once its name is chosen.
    public var targetRelativePath: String?
    /// The step reached.
    public var stage: Stage
    @ISO8601MillisCoded public var createdAt: Date = ISO8601Millis.now()

    /// The field names, in JSON and as the `pending_moves` table's columns (`PendingMoveTable.Column`).
    enum CodingKeys: String, CodingKey, CaseIterable {
        case id
        case assetID = "asset_id"
        case projectID = "project_id"
        case sourcePath = "source_path"
        case stagingPath = "staging_path"
        case targetRelativePath = "target_relative_path"
        case stage
        case createdAt = "created_at"
    }
}

extension PendingMove.Stage: Codable {
    /// The stored text; a value this version does not know reads as `staged` (``init(stored:)``).
    public init(from decoder: any Decoder) throws {
        self.init(stored: try decoder.singleValueContainer().decode(String.self))
    }
}
