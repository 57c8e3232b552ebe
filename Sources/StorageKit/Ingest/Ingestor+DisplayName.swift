extension Ingestor {
    /// The file as the user named it, for every `detail`, `error` and event: its path below the drop folder
    /// (`project/relative/name`, or just the name for a file put in the drop root), else `project/name` (a
    /// rejected file sent back through the pipeline). Never a storage or staging path.
    static func displayName(of source: RawPath, project: ProjectID?, dropPath: String) -> String {
        let root = Array(StorageLayout.normalize(dropPath).utf8)
        let prefix = root.last == 0x2F ? root : root + [0x2F]
        if source.bytes.count > prefix.count, source.bytes.starts(with: prefix) {
            return String(decoding: source.bytes[prefix.count...], as: UTF8.self)
        }
        let name = String(decoding: source.lastComponent, as: UTF8.self)
        return project.map { "\($0)/\(name)" } ?? name
    }
}
