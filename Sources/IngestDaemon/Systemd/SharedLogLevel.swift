import Logging
import Synchronization

/// A log level shared by every handler `LoggingBootstrap` creates, so that a SIGHUP reload can change `LOG_LEVEL`
/// for all existing loggers at once.
///
/// swift-log treats a handler's `logLevel` as a value; the handlers follow its documented "global override"
/// pattern: a logger whose level was set explicitly keeps that level, every other logger reads this one.
final class SharedLogLevel: Sendable {
    private static let levels = Logger.Level.allCases
    private let index: Atomic<Int>

    /// Creates a shared level starting at `level`.
    init(_ level: Logger.Level) {
        self.index = Atomic(Self.levels.firstIndex(of: level) ?? 0)
    }

    /// The current level; reads and writes are atomic, so handlers may read it on every log call.
    var level: Logger.Level {
        get { Self.levels[self.index.load(ordering: .relaxed)] }
        set { self.index.store(Self.levels.firstIndex(of: newValue) ?? 0, ordering: .relaxed) }
    }
}

/// A handler whose level follows a ``SharedLogLevel`` unless its logger sets one of its own; supplies the
/// level and metadata-subscript plumbing both of our handlers share.
protocol SharedLevelLogHandler: LogHandler {
    var sharedLevel: SharedLogLevel { get }
    var ownLevel: Logger.Level? { get set }
}

extension SharedLevelLogHandler {
    /// The level of this logger: its own if one was set, else the shared one.
    var logLevel: Logger.Level {
        get { ownLevel ?? sharedLevel.level }
        set { ownLevel = newValue }
    }

    /// Metadata of this logger by key.
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
}
