/// The answer of `DELETE /projects/{id}/storage`: what a project purge removed from disk.
public struct PurgeSummary: Codable, Sendable, Equatable {
    public var projectID: String
    /// Regular files removed, as statistics count them (symlinks and special files found are removed too, and
    /// not counted).
    public var filesRemoved: Int
    /// Sum of their sizes.
    public var bytesFreed: Int64
    /// Records removed (each announced by a `deleted` event); not part of the answer's JSON.
    public var recordsRemoved = 0

    public init(projectID: String, filesRemoved: Int, bytesFreed: Int64, recordsRemoved: Int = 0) {
        self.projectID = projectID
        self.filesRemoved = filesRemoved
        self.bytesFreed = bytesFreed
        self.recordsRemoved = recordsRemoved
    }

    /// `recordsRemoved` is not among them.
    enum CodingKeys: String, SnakeCaseCodingKey {
        case projectID, filesRemoved, bytesFreed
    }
}
