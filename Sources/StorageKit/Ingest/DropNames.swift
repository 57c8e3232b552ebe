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
}
