/// Where an asset stands (SPEC "Asset record").
public enum AssetStatus: String, Codable, Sendable, CaseIterable {
    /// Being stored: the file may not be in `uploads/` yet.
    case processing
    /// In `uploads/` with its record and media metadata committed.
    case ready
    /// A later step failed for good; `error` says why.
    case failed
}
