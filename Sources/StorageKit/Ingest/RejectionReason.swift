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
    @ISO8601MillisCoded public var rejectedAt: Date = ISO8601Millis.now()
    /// The name the file had in the drop (or the upload's file name).
    public var originalFilename: String?

    enum CodingKeys: String, SnakeCaseCodingKey {
        case reason, detail, rejectedAt, originalFilename
    }
}
