/// The answer of `DELETE /projects/{id}/storage`: what a project purge removed from disk.
public struct PurgeSummary: Codable, Sendable, Equatable {
    public var projectID: String
    /// Non-directory entries removed (files, and any symlinks or special files found).
    public var filesRemoved: Int
    /// Sum of their `lstat` sizes.
    public var bytesFreed: Int64

    public init(projectID: String, filesRemoved: Int, bytesFreed: Int64) {
        self.projectID = projectID
        self.filesRemoved = filesRemoved
        self.bytesFreed = bytesFreed
    }

    enum CodingKeys: String, CodingKey {
        case projectID = "project_id"
        case filesRemoved = "files_removed"
        case bytesFreed = "bytes_freed"
    }
}
