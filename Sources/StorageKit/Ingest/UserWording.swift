#if canImport(Glibc)
import Glibc
#endif

/// Words an unexpected error for the user: a sentence about the file as the user named it (project and
/// name in the drop, or the upload's name), never an internal path. The full error belongs in the log.
public enum UserWording {
    /// "`file` could not be `action`: why", where why is the system's reason (from errno), the media
    /// library's sentence, or a pointer to the log when the error would name internal paths.
    public static func failure(_ error: any Error, file: String, action: String = "ingested") -> String {
        "\(file) could not be \(action): \(reason(error))"
    }

    /// The cause of `error` in words that name no path.
    public static func reason(_ error: any Error) -> String {
        if let storage = error as? StorageError {
            if let code = storage.errno { return String(cString: strerror(code)) }
            switch storage.code {
            case .catalog: return "the catalog could not be updated (see the log)"
            case .conflict: return "a name it needed was taken (see the log)"
            default: return "an internal error (see the log)"
            }
        }
        if let media = error as? MediaError { return media.detail }
        return "an internal error (see the log)"
    }
}
