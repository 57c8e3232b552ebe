import StorageKit

/// What the watcher thread tells the pipeline.
enum WatchEvent: Sendable {
    /// A file (or link, FIFO …) appeared, was written and closed, or was moved in: check it.
    case candidate(RawPath)
    /// A scan of the drop finished (start-up, overflow or request).
    case scanFinished(files: Int)
}
