/// The outcome of `ContainerCheck.check(fd:size:ext:)`.
public enum ContainerVerdict: Sendable, Equatable {
    /// The container's top-level structure accounts for the whole file.
    case ok
    /// The structure promises more bytes than the file has (or could not all be read): a half-copied file.
    case truncated(String)
    /// The bytes are not the container the extension names.
    case notMedia(String)
}
