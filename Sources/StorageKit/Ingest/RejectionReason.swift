import Foundation

/// The stable `reason` codes of `<name>.reason.json` (SPEC "The drop directory").
public enum RejectionReason: String, Codable, Sendable, CaseIterable {
    case extensionNotAllowed = "extension_not_allowed"
    case tooLarge = "too_large"
    case empty
    case notMedia = "not_media"
    case noVideo = "no_video"
    case truncated
    case symlink
    case specialFile = "special_file"
    case hardLinks = "hard_links"
    case duplicate
    case quotaExceeded = "quota_exceeded"
    case invalidProject = "invalid_project"
}

/// Why a file was not accepted: a value, not a thrown error.
public struct Rejection: Codable, Sendable, Equatable {
    public var reason: RejectionReason
    /// A sentence for people.
    public var detail: String
    public var rejectedAt: Date
    /// The name the file had in the drop (or the upload's file name).
    public var originalFilename: String?

    public init(
        reason: RejectionReason,
        detail: String,
        rejectedAt: Date = ISO8601Millis.now(),
        originalFilename: String? = nil
    ) {
        self.reason = reason
        self.detail = detail
        self.rejectedAt = rejectedAt
        self.originalFilename = originalFilename
    }

    enum CodingKeys: String, CodingKey {
        case reason, detail
        case rejectedAt = "rejected_at"
        case originalFilename = "original_filename"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(reason, forKey: .reason)
        try c.encode(detail, forKey: .detail)
        try c.encode(ISO8601Millis.string(from: rejectedAt), forKey: .rejectedAt)
        try c.encodeIfPresent(originalFilename, forKey: .originalFilename)
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        reason = try c.decode(RejectionReason.self, forKey: .reason)
        detail = try c.decode(String.self, forKey: .detail)
        rejectedAt = try ISO8601Millis.date(from: c.decode(String.self, forKey: .rejectedAt))
        originalFilename = try c.decodeIfPresent(String.self, forKey: .originalFilename)
    }
}
