import IngestConfig

/// A sanitized project id: only `[A-Za-z0-9_-]`, 1…64 characters (SPEC "The drop directory").
public struct ProjectID: Hashable, Sendable, Codable, CustomStringConvertible, Comparable {
    /// The sanitized id, safe to put in a path component.
    public let rawValue: String

    /// Most characters an id keeps.
    public static let maxLength = ProjectIDRule.maxLength

    /// Sanitizes `raw` by dropping every character outside `[A-Za-z0-9_-]` and cutting to 64.
    /// Returns `nil` when nothing is left (the caller rejects with `invalid_project`).
    public init?(sanitizing raw: String) {
        var kept = ""
        kept.reserveCapacity(min(raw.utf8.count, Self.maxLength))
        for scalar in raw.unicodeScalars where Self.isAllowed(scalar) {
            kept.unicodeScalars.append(scalar)
            if kept.unicodeScalars.count == Self.maxLength { break }
        }
        guard !kept.isEmpty else { return nil }
        rawValue = kept
    }

    /// Accepts `raw` only if it is already a valid id (API paths must not be silently rewritten).
    public init?(exactly raw: String) {
        guard let id = ProjectID(sanitizing: raw), id.rawValue == raw else { return nil }
        self = id
    }

    /// Whether `s` may appear in a project id.
    public static func isAllowed(_ s: Unicode.Scalar) -> Bool { ProjectIDRule.isAllowed(s) }

    /// The folder name used in every category: `project_<id>`.
    public var folderName: String { "project_" + rawValue }
    public var description: String { rawValue }
    public static func < (a: ProjectID, b: ProjectID) -> Bool { a.rawValue < b.rawValue }

    public init(from decoder: any Decoder) throws {
        let raw = try decoder.singleValueContainer().decode(String.self)
        guard let id = ProjectID(exactly: raw) else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "invalid project id \(raw)")
            )
        }
        self = id
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }
}
