import Foundation
import Logging
import StorageKit

/// A swift-log handler for a terminal: one readable line per entry on stderr,
/// `2026-11-24T10:00:00.123Z info ingestd: message project.id=demo filename=a.mp4`.
///
/// The well-known keys (`project.id`, `asset.id`, `filename`) come first, the rest sorted by key. Values with
/// spaces, quotes or `=` are double-quoted, and newlines are escaped, so that each entry stays on one line.
/// The level follows a ``SharedLogLevel`` unless a logger sets its own.
struct TerminalLogHandler: SharedLevelLogHandler {
    /// The logger's label, printed after the level.
    let label: String
    let sharedLevel: SharedLogLevel
    var ownLevel: Logger.Level?
    private let fileDescriptor: Int32

    /// Metadata added to every entry of this logger.
    var metadata: Logger.Metadata = [:]
    /// Metadata computed at each log call.
    var metadataProvider: Logger.MetadataProvider?

    /// Creates a handler.
    /// - Parameters:
    ///   - label: the logger's label.
    ///   - level: the shared level this handler follows.
    ///   - metadataProvider: metadata computed at each call.
    ///   - fileDescriptor: where lines go (stderr by default).
    init(
        label: String,
        level: SharedLogLevel,
        metadataProvider: Logger.MetadataProvider? = nil,
        fileDescriptor: Int32 = STDERR_FILENO
    ) {
        self.label = label
        self.sharedLevel = level
        self.metadataProvider = metadataProvider
        self.fileDescriptor = fileDescriptor
    }

    /// Writes one line.
    func log(event: LogEvent) {
        let line = Self.line(
            timestamp: ISO8601Millis.string(from: Date()),
            level: event.level,
            label: self.label,
            message: "\(event.message)",
            metadata: event.effectiveMetadata(base: self.metadata, provider: self.metadataProvider)
        )
        Self.writeAll(line + "\n", to: self.fileDescriptor)
    }

    /// Keys printed first, in this order.
    static let leadingKeys = ["project.id", "asset.id", "filename"]

    /// The text of one entry, without the final newline; pure, for tests.
    static func line(
        timestamp: String,
        level: Logger.Level,
        label: String,
        message: String,
        metadata: Logger.Metadata
    ) -> String {
        var line = "\(timestamp) \(level) \(label): \(Self.escapeNewlines(message))"
        let leading = Self.leadingKeys.filter { metadata[$0] != nil }
        let rest = metadata.keys.filter { !Self.leadingKeys.contains($0) }.sorted()
        for key in leading + rest {
            line += " \(key)=\(Self.quoted("\(metadata[key]!)"))"
        }
        return line
    }

    /// `value`, double-quoted (with `"` and `\` escaped) when it is empty or holds a space, quote or `=`.
    static func quoted(_ value: String) -> String {
        let needsQuotes = value.isEmpty || value.contains { $0 == " " || $0 == "\"" || $0 == "=" || $0.isNewline }
        guard needsQuotes else { return value }
        let escaped = value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        return "\"\(Self.escapeNewlines(escaped))\""
    }

    private static func escapeNewlines(_ text: String) -> String {
        guard text.contains(where: \.isNewline) else { return text }
        return text.replacingOccurrences(of: "\r", with: "\\r").replacingOccurrences(of: "\n", with: "\\n")
    }

    /// Writes the whole line with as few write(2) calls as possible, so lines of concurrent loggers do not mix.
    private static func writeAll(_ text: String, to fd: Int32) {
        var text = text
        text.withUTF8 { buffer in
            var offset = 0
            while offset < buffer.count {
                // write(2) may write less than asked (a pipe near full): the rest follows. An interrupted write
                // is made again; any other failure drops the line (there is nowhere to report it).
                let written = Syscall.valueOrErrno { write(fd, buffer.baseAddress! + offset, buffer.count - offset) }
                guard case .success(let count) = written, count > 0 else { return }
                offset += count
            }
        }
    }
}
