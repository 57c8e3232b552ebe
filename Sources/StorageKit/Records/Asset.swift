import Foundation

/// One stored file's record, encoded exactly as the SPEC's JSON shape.
public struct Asset: Codable, Sendable, Equatable, Identifiable {
    public var id: String
    public var projectID: String
    /// Stored name: `<stem>-<hash10><ext>`.
    public var filename: String
    public var originalFilename: String
    /// Path below `STORAGE_PATH`, e.g. `uploads/project_demo/lesson-1a2b3c4d5e.mp4`.
    public var relativePath: String
    /// SHA-256 of the stored bytes, 64 lower-case hex digits.
    public var checksum: String
    public var sizeBytes: Int64
    public var mimeType: String
    public var status: AssetStatus
    /// Below `STORAGE_PATH`; `nil` (JSON `null`) until the thumbnail exists.
    public var thumbnailPath: String?
    /// `nil` until probed; encoded as `{}` when there is none.
    public var metadata: MediaMetadata?
    /// Web-playable copies in `processed/`, each listed only once written whole; `[]` until the first exists.
    public var renditions: [Rendition]
    /// The preview sprite sheet; `nil` (JSON `null`) until it exists.
    public var sprite: SpriteSheet?
    /// Why the asset failed; only present when `status == .failed`.
    public var error: String?
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: String = UUID.systemRandom().uuidString.lowercased(),
        projectID: String,
        filename: String,
        originalFilename: String,
        relativePath: String,
        checksum: String,
        sizeBytes: Int64,
        mimeType: String,
        status: AssetStatus,
        thumbnailPath: String? = nil,
        metadata: MediaMetadata? = nil,
        renditions: [Rendition] = [],
        sprite: SpriteSheet? = nil,
        error: String? = nil,
        createdAt: Date,
        updatedAt: Date
    ) {
        self.id = id
        self.projectID = projectID
        self.filename = filename
        self.originalFilename = originalFilename
        self.relativePath = relativePath
        self.checksum = checksum
        self.sizeBytes = sizeBytes
        self.mimeType = mimeType
        self.status = status
        self.thumbnailPath = thumbnailPath
        self.metadata = metadata
        self.renditions = renditions
        self.sprite = sprite
        self.error = error
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// The record's field names, in the JSON record and as the `assets` table's columns (``Column``).
    enum CodingKeys: String, CodingKey, CaseIterable {
        case id
        case projectID = "project_id"
        case filename
        case originalFilename = "original_filename"
        case relativePath = "relative_path"
        case checksum
        case sizeBytes = "size_bytes"
        case mimeType = "mime_type"
        case status
        case thumbnailPath = "thumbnail_path"
        case metadata
        case renditions
        case sprite
        case error
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(projectID, forKey: .projectID)
        try c.encode(filename, forKey: .filename)
        try c.encode(originalFilename, forKey: .originalFilename)
        try c.encode(relativePath, forKey: .relativePath)
        try c.encode(checksum, forKey: .checksum)
        try c.encode(sizeBytes, forKey: .sizeBytes)
        try c.encode(mimeType, forKey: .mimeType)
        try c.encode(status, forKey: .status)
        try c.encode(thumbnailPath, forKey: .thumbnailPath)  // explicit null until set
        try c.encode(metadata ?? MediaMetadata(), forKey: .metadata)
        try c.encode(renditions, forKey: .renditions)
        try c.encode(sprite, forKey: .sprite)  // explicit null until made
        if status == .failed { try c.encode(error ?? "unknown error", forKey: .error) }
        try c.encode(ISO8601Millis.string(from: createdAt), forKey: .createdAt)
        try c.encode(ISO8601Millis.string(from: updatedAt), forKey: .updatedAt)
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        projectID = try c.decode(String.self, forKey: .projectID)
        filename = try c.decode(String.self, forKey: .filename)
        originalFilename = try c.decode(String.self, forKey: .originalFilename)
        relativePath = try c.decode(String.self, forKey: .relativePath)
        checksum = try c.decode(String.self, forKey: .checksum)
        sizeBytes = try c.decode(Int64.self, forKey: .sizeBytes)
        mimeType = try c.decode(String.self, forKey: .mimeType)
        status = try c.decode(AssetStatus.self, forKey: .status)
        thumbnailPath = try c.decodeIfPresent(String.self, forKey: .thumbnailPath)
        // `{}` is how an asset without metadata encodes; it decodes back to `nil`.
        metadata = try c.decodeIfPresent(MediaMetadata.self, forKey: .metadata).flatMap {
            $0 == MediaMetadata() ? nil : $0
        }
        renditions = try c.decodeIfPresent([Rendition].self, forKey: .renditions) ?? []
        sprite = try c.decodeIfPresent(SpriteSheet.self, forKey: .sprite)
        error = try c.decodeIfPresent(String.self, forKey: .error)
        createdAt = try ISO8601Millis.date(from: c.decode(String.self, forKey: .createdAt))
        updatedAt = try ISO8601Millis.date(from: c.decode(String.self, forKey: .updatedAt))
    }
}
