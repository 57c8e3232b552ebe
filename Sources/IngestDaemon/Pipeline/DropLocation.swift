import StorageKit

/// Where a path in the drop belongs: the first component below `DROP_PATH` is the project; files directly in
/// the drop go to `DEFAULT_PROJECT`.
struct DropLocation: Sendable {
    /// The project, or `nil` when the folder's name sanitizes to nothing (`invalid_project`).
    let project: ProjectID?

    init?(path: RawPath, root: RawPath, defaultProject: ProjectID) {
        let prefix = root.bytes + [0x2F]
        guard path.bytes.starts(with: prefix) else { return nil }
        let rest = path.bytes.dropFirst(prefix.count)
        guard let slash = rest.firstIndex(of: 0x2F) else {
            project = defaultProject
            return
        }
        project = ProjectID(sanitizing: String(decoding: rest[rest.startIndex..<slash], as: UTF8.self))
    }
}
