/// The folders below `STORAGE_PATH` (SPEC "Storage layout").
public enum StorageCategory: String, CaseIterable, Sendable, Codable {
    case uploads, thumbnails, processed, exports, music, metadata, rejected

    /// Categories that hold per-project folders (`project_<id>`); `metadata` is shared.
    public static let perProject: [StorageCategory] = [.uploads, .thumbnails, .processed, .exports, .music, .rejected]
}
