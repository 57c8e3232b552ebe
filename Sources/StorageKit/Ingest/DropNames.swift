/// Rules about names in the drop directory (SPEC "The drop directory").
public enum DropNames {
    /// Suffixes of files still being written by browsers, rsync, WinSCP and editors.
    public static let temporarySuffixes = [".part", ".partial", ".tmp", ".crdownload", ".filepart", "~"]

    /// Ignored until renamed: names starting with `.` or ending in a temporary suffix (case-insensitive).
    public static func isIgnored(_ name: [UInt8]) -> Bool {
        guard let first = name.first else { return true }
        if first == 0x2E { return true }
        let lower = String(decoding: name, as: UTF8.self).lowercased()
        return temporarySuffixes.contains { lower.hasSuffix($0) }
    }

    /// Whether `path`, a path below the drop folder `root`, is ignored: its name or the name of any folder between
    /// it and `root` is (rsync's `.rsync-partial/`, `.git/`, a desktop's `.Trash-0/`, a folder still being
    /// filled as `incoming.tmp/`). A path outside `root` is judged by its name alone.
    public static func isIgnored(_ path: RawPath, below root: RawPath) -> Bool {
        let prefix = root.bytes.last == 0x2F ? root.bytes : root.bytes + [0x2F]
        guard path.bytes.starts(with: prefix) else { return isIgnored(path.lastComponent) }
        return path.bytes.dropFirst(prefix.count).split(separator: 0x2F, omittingEmptySubsequences: false)
            .contains { isIgnored(Array($0)) }
    }
}
