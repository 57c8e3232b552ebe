import Foundation
import Glibc
import Logging

/// Sets up swift-log for the daemon: journald when stderr is the journal, a readable line format otherwise.
///
/// Call ``bootstrap(level:node:environment:)`` once, first thing in `main`, before any `Logger` is created, with the
/// configured `LOG_LEVEL`. After a SIGHUP reload, call ``setLevel(_:)`` with the new `LOG_LEVEL`; it takes
/// effect at once for every logger that did not set its own level.
enum LoggingBootstrap {
    /// Where log entries go.
    enum Destination: Equatable, Sendable {
        /// The systemd journal, with structured fields.
        case journald
        /// One line per entry on stderr.
        case terminal
    }

    /// The level every handler made by ``bootstrap(level:node:environment:)`` follows.
    static let sharedLevel = SharedLogLevel(.info)

    /// The `SYSLOG_IDENTIFIER` of journal entries.
    static let identifier = "ingestd"

    /// Chooses the destination, installs the handlers (`LoggingSystem.bootstrap`, allowed once per process)
    /// and sets the level.
    /// - Parameters:
    ///   - level: the configured `LOG_LEVEL`.
    ///   - node: `NODE_ID`, sent as the journal field `NODE_ID` of every entry.
    ///   - environment: the process environment (only `JOURNAL_STREAM` is read); the real one by default.
    /// - Returns: the destination chosen, for a first log line that says so.
    @discardableResult
    static func bootstrap(
        level: Logger.Level,
        node: String? = nil,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> Destination {
        let destination = Self.destination(journalStream: environment["JOURNAL_STREAM"])
        Self.setLevel(level)
        let sharedLevel = Self.sharedLevel
        switch destination {
        case .journald:
            // Every journal entry names the node (`NODE_ID=`), so that `journalctl NODE_ID=…` selects one node's
            // lines where several nodes log to one journal.
            let nodeMetadata: Logger.Metadata = node.map { ["node_id": .string($0)] } ?? [:]
            LoggingSystem.bootstrap { label in
                var handler = JournaldLogHandler(label: label, identifier: Self.identifier, level: sharedLevel)
                handler.metadata = nodeMetadata
                return handler
            }
        case .terminal:
            LoggingSystem.bootstrap { label in
                TerminalLogHandler(label: label, level: sharedLevel)
            }
        }
        return destination
    }

    /// Changes the level of every logger that follows the shared level (a SIGHUP reload of `LOG_LEVEL`).
    static func setLevel(_ level: Logger.Level) {
        Self.sharedLevel.level = level
    }

    /// `.journald` when `journalStream` (the `JOURNAL_STREAM` variable) names the file stderr is open on,
    /// else `.terminal`. systemd sets `JOURNAL_STREAM` when it connects stdout or stderr to the journal; a child
    /// that redirects stderr inherits the variable but no longer matches, and then gets the line format.
    static func destination(journalStream: String?, fileDescriptor: Int32 = STDERR_FILENO) -> Destination {
        guard let journalStream, Self.journalStream(journalStream, matches: fileDescriptor) else { return .terminal }
        return .journald
    }

    /// Whether a `JOURNAL_STREAM` value (`<device>:<inode>`, both decimal) names the file `fileDescriptor` is open on.
    static func journalStream(_ value: String, matches fileDescriptor: Int32) -> Bool {
        guard let (device, inode) = Self.parseJournalStream(value) else { return false }
        var status = stat()
        // fstat(2) on our own stderr; failure (a closed fd) simply means "not the journal".
        guard fstat(fileDescriptor, &status) == 0 else { return false }
        return UInt64(status.st_dev) == device && UInt64(status.st_ino) == inode
    }

    /// The device and inode numbers of a `JOURNAL_STREAM` value, or nil when it is malformed.
    static func parseJournalStream(_ value: String) -> (device: UInt64, inode: UInt64)? {
        let parts = value.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let device = UInt64(parts[0]), let inode = UInt64(parts[1]) else { return nil }
        return (device, inode)
    }
}
