/// The one rule for project ids (SPEC "The drop directory"): characters from `[A-Za-z0-9_-]`, at most 64 of
/// them. StorageKit's `ProjectID`, the `DEFAULT_PROJECT` check and ingestctl all ask it.
public enum ProjectIDRule {
    /// Most characters an id keeps.
    public static let maxLength = 64

    /// Whether `s` may appear in a project id.
    public static func isAllowed(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A, 0x5F, 0x2D: return true
        default: return false
        }
    }

    /// Whether `text` is a project id as it stands (non-empty, allowed characters only, not too long).
    public static func isValid(_ text: String) -> Bool {
        !text.isEmpty && text.unicodeScalars.count <= maxLength && text.unicodeScalars.allSatisfy(isAllowed)
    }
}
