import CSystemd
import Glibc
import Logging

/// A swift-log handler that writes structured entries to the systemd journal with `sd_journal_sendv(3)`.
///
/// Each entry carries `MESSAGE`, `PRIORITY` (syslog numbers), `SYSLOG_IDENTIFIER`, `CODE_FILE`, `CODE_LINE`,
/// `CODE_FUNC` and one field per metadata key, named as ``journalFieldName(_:)`` says (`project.id` →
/// `PROJECT_ID`, `asset.id` → `ASSET_ID`, `filename` → `FILENAME`), so that
/// `journalctl -u ingestd PROJECT_ID=demo` finds a project's lines.
///
/// The level follows a ``SharedLogLevel`` unless a logger sets its own (see swift-log's "global override" pattern),
/// so a reload can change `LOG_LEVEL` for every logger at once.
struct JournaldLogHandler: SharedLevelLogHandler {
    /// The logger's label; sent as `LOGGER` when it differs from the identifier.
    let label: String
    /// `SYSLOG_IDENTIFIER` of every entry (what `journalctl -t` selects).
    let identifier: String
    let sharedLevel: SharedLogLevel
    var ownLevel: Logger.Level?

    /// Metadata added to every entry of this logger.
    var metadata: Logger.Metadata = [:]
    /// Metadata computed at each log call (e.g. from a task-local).
    var metadataProvider: Logger.MetadataProvider?

    /// Creates a handler.
    /// - Parameters:
    ///   - label: the logger's label.
    ///   - identifier: the `SYSLOG_IDENTIFIER` to send.
    ///   - level: the shared level this handler follows.
    ///   - metadataProvider: metadata computed at each call.
    init(
        label: String,
        identifier: String = "ingestd",
        level: SharedLogLevel,
        metadataProvider: Logger.MetadataProvider? = nil
    ) {
        self.label = label
        self.identifier = identifier
        self.sharedLevel = level
        self.metadataProvider = metadataProvider
    }

    /// Sends one entry to the journal; errors are ignored (there is nowhere left to report them).
    func log(event: LogEvent) {
        let fields = Self.fields(
            event: event,
            metadata: event.effectiveMetadata(base: self.metadata, provider: self.metadataProvider),
            identifier: self.identifier,
            label: self.label
        )
        Journal.send(fields)
    }

    /// The journal fields of one entry, each `KEY=value`; pure, so that tests can check them without a journal.
    ///
    /// Metadata keys that map onto one of the handler's own fields (a key `message`, say) are sent with a
    /// `META_` prefix instead of overriding it.
    static func fields(event: LogEvent, metadata: Logger.Metadata, identifier: String, label: String) -> [String] {
        var fields = [
            "MESSAGE=\(event.message)",
            "PRIORITY=\(Self.priority(event.level))",
            "SYSLOG_IDENTIFIER=\(identifier)",
            "CODE_FILE=\(event.file)",
            "CODE_LINE=\(event.line)",
            "CODE_FUNC=\(event.function)",
        ]
        if label != identifier {
            fields.append("LOGGER=\(label)")
        }
        for (key, value) in metadata.sorted(by: { $0.key < $1.key }) {
            var name = Self.journalFieldName(key)
            if Self.ownFields.contains(name) {
                name = "META_" + name
            }
            fields.append("\(name)=\(value)")
        }
        return fields
    }

    /// Fields the handler sets itself; metadata may not replace them.
    private static let ownFields: Set<String> = [
        "MESSAGE", "PRIORITY", "SYSLOG_IDENTIFIER", "CODE_FILE", "CODE_LINE", "CODE_FUNC", "LOGGER",
    ]

    /// The syslog priority of a swift-log level: trace and debug → 7, info → 6, notice → 5, warning → 4,
    /// error → 3, critical → 2.
    static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    /// A journal field name for a metadata key: upper case, every character outside `A-Z0-9_` (dots, dashes)
    /// turned into `_`, no leading `_` (those are journald's trusted fields) or digit, at most 64 characters.
    static func journalFieldName(_ key: String) -> String {
        var name = String(
            key.uppercased().unicodeScalars.map { scalar -> Character in
                switch scalar {
                case "A"..."Z", "0"..."9", "_": Character(scalar)
                default: "_"
                }
            }
        )
        while name.first == "_" {
            name.removeFirst()
        }
        if name.isEmpty || name.first!.isNumber {
            name = "F_" + name
        }
        return String(name.prefix(64))
    }
}

/// The journal's native protocol through libsystemd.
enum Journal {
    /// Sends one entry made of `KEY=value` fields with `sd_journal_sendv(3)`; returns its result (0 or -errno).
    ///
    /// Values may hold newlines or any bytes: `sd_journal_sendv` frames them itself. Note that it returns 0 even
    /// when no journald listens, which is why the handler is chosen from `JOURNAL_STREAM` instead.
    @discardableResult
    static func send(_ fields: [String]) -> Int32 {
        // One buffer for all fields, so that every iovec points into memory that stays put during the call.
        var bytes: [UInt8] = []
        var ranges: [Range<Int>] = []
        ranges.reserveCapacity(fields.count)
        for field in fields {
            let start = bytes.count
            bytes.append(contentsOf: field.utf8)
            ranges.append(start..<bytes.count)
        }
        return bytes.withUnsafeMutableBytes { buffer in
            let vectors = ranges.map { range in
                iovec(iov_base: buffer.baseAddress.map { $0 + range.lowerBound }, iov_len: range.count)
            }
            // sd_journal_sendv(3) copies what it needs before returning.
            return vectors.withUnsafeBufferPointer { sd_journal_sendv($0.baseAddress, Int32($0.count)) }
        }
    }
}
