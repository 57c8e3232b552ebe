import Foundation
import Glibc
import Logging
import Testing

@testable import IngestDaemon

/// The journald field builder, the terminal line format, the shared level and the JOURNAL_STREAM check.
struct SystemdLoggingTests {
    private func event(
        _ level: Logger.Level,
        _ message: Logger.Message,
        metadata: Logger.Metadata? = nil,
        error: (any Error)? = nil
    ) -> LogEvent {
        LogEvent(
            level: level,
            message: message,
            error: error,
            metadata: metadata,
            source: "IngestDaemon",
            file: "IngestDaemon/Pipeline/IngestCoordinator.swift",
            function: "store(_:)",
            line: 42
        )
    }

    @Test func journalFieldsCarryMessagePriorityCodeLocationAndMetadata() {
        let fields = JournaldLogHandler.fields(
            event: self.event(.warning, "stored lesson.mp4"),
            metadata: ["project.id": "demo", "asset.id": "3f2b-uuid", "filename": "lesson.mp4", "size-bytes": "12"],
            identifier: "ingestd",
            label: "ingestd"
        )
        #expect(
            fields == [
                "MESSAGE=stored lesson.mp4",
                "PRIORITY=4",
                "SYSLOG_IDENTIFIER=ingestd",
                "CODE_FILE=IngestDaemon/Pipeline/IngestCoordinator.swift",
                "CODE_LINE=42",
                "CODE_FUNC=store(_:)",
                "ASSET_ID=3f2b-uuid",
                "FILENAME=lesson.mp4",
                "PROJECT_ID=demo",
                "SIZE_BYTES=12",
            ]
        )
    }

    @Test func journalFieldsMergeLoggerMetadataEventMetadataAndErrors() {
        struct Broken: Error, CustomStringConvertible { var description: String { "disk on fire" } }
        var handler = JournaldLogHandler(label: "ingestd.ingest", level: SharedLogLevel(.info))
        handler[metadataKey: "project.id"] = "old"
        handler[metadataKey: "worker"] = "2"
        let event = self.event(.error, "failed", metadata: ["project.id": "demo", "message": "clash"], error: Broken())
        let fields = JournaldLogHandler.fields(
            event: event,
            metadata: event.effectiveMetadata(base: handler.metadata, provider: nil),
            identifier: handler.identifier,
            label: handler.label
        )
        #expect(fields.contains("PRIORITY=3"))
        #expect(fields.contains("PROJECT_ID=demo"))
        #expect(!fields.contains("PROJECT_ID=old"))
        #expect(fields.contains("WORKER=2"))
        #expect(fields.contains("ERROR_MESSAGE=disk on fire"))
        #expect(fields.contains { $0.hasPrefix("ERROR_TYPE=") && $0.hasSuffix("Broken") })
        #expect(fields.contains("LOGGER=ingestd.ingest"))
        // A metadata key cannot replace the entry's own MESSAGE.
        #expect(fields.filter { $0.hasPrefix("MESSAGE=") } == ["MESSAGE=failed"])
        #expect(fields.contains("META_MESSAGE=clash"))
    }

    @Test(arguments: [
        (Logger.Level.trace, 7), (.debug, 7), (.info, 6), (.notice, 5), (.warning, 4), (.error, 3), (.critical, 2),
    ])
    func syslogPriorities(level: Logger.Level, priority: Int) {
        #expect(JournaldLogHandler.priority(level) == priority)
    }

    @Test(arguments: [
        ("project.id", "PROJECT_ID"), ("asset.id", "ASSET_ID"), ("filename", "FILENAME"),
        ("queue-depth", "QUEUE_DEPTH"), ("_private", "PRIVATE"), ("2fa", "F_2FA"), ("é.x", "X"),
        (String(repeating: "k", count: 80), String(repeating: "K", count: 64)),
    ])
    func journalFieldNames(key: String, field: String) {
        #expect(JournaldLogHandler.journalFieldName(key) == field)
    }

    @Test func journalSendFramesFieldsWithoutCrashing() {
        // No journald listens here; sd_journal_sendv still returns 0 (see PLATFORM-NOTES), and must not crash
        // on newlines, empty values or non-ASCII text.
        #expect(Journal.send(["MESSAGE=two\nlines", "FILENAME=été.mp4", "EMPTY="]) <= 0)
    }

    @Test func terminalLineFormat() {
        let line = TerminalLogHandler.line(
            timestamp: "2026-11-24T10:00:00.123Z",
            level: .info,
            label: "ingestd",
            message: "stored",
            metadata: ["size": "12", "filename": "a.mp4", "project.id": "demo", "asset.id": "u1", "note": "two words"]
        )
        #expect(
            line
                == #"2026-11-24T10:00:00.123Z info ingestd: stored project.id=demo asset.id=u1 filename=a.mp4 note="two words" size=12"#
        )
    }

    @Test func terminalLinesStayOnOneLine() {
        let line = TerminalLogHandler.line(
            timestamp: "T",
            level: .error,
            label: "ingestd",
            message: "first\nsecond",
            metadata: ["filename": "we\"ird\nname.mp4", "empty": ""]
        )
        #expect(line == #"T error ingestd: first\nsecond filename="we\"ird\nname.mp4" empty="""#)
        #expect(!line.contains("\n"))
    }

    @Test func terminalHandlerWritesOneLinePerEntry() throws {
        var fds: [Int32] = [0, 0]
        try #require(pipe(&fds) == 0)
        defer {
            close(fds[0])
            close(fds[1])
        }
        let level = SharedLogLevel(.info)
        let logger = Logger(label: "ingestd") { TerminalLogHandler(label: $0, level: level, fileDescriptor: fds[1]) }
        logger.debug("hidden")
        logger.info("stored", metadata: ["project.id": "demo", "filename": "a.mp4"])
        var buffer = [UInt8](repeating: 0, count: 1024)
        let count = read(fds[0], &buffer, buffer.count)
        let text = String(decoding: buffer[..<max(count, 0)], as: UTF8.self)
        let pattern =
            #/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z info ingestd: stored project\.id=demo filename=a\.mp4\n$/#
        #expect(text.wholeMatch(of: pattern) != nil, "\(text)")
    }

    @Test func sharedLevelChangesEveryLoggerThatDidNotSetItsOwn() {
        let shared = SharedLogLevel(.info)
        let follower = Logger(label: "a") { JournaldLogHandler(label: $0, level: shared) }
        var own = Logger(label: "b") { TerminalLogHandler(label: $0, level: shared) }
        own.logLevel = .error
        #expect(follower.logLevel == .info)
        shared.level = .debug
        #expect(follower.logLevel == .debug)
        #expect(own.logLevel == .error)
        shared.level = .critical
        #expect(follower.logLevel == .critical)
    }

    @Test func handlersKeepValueSemantics() {
        // The test swift-log's LogHandler documentation asks every handler to pass.
        let shared = SharedLogLevel(.info)
        var logger1 = Logger(label: "first logger") { JournaldLogHandler(label: $0, level: shared) }
        logger1.logLevel = .debug
        logger1[metadataKey: "only-on"] = "first"
        var logger2 = logger1
        logger2.logLevel = .error
        logger2[metadataKey: "only-on"] = "second"
        #expect(logger1.logLevel == .debug)
        #expect(logger2.logLevel == .error)
        #expect(logger1[metadataKey: "only-on"] == "first")
        #expect(logger2[metadataKey: "only-on"] == "second")
    }

    @Test func journalStreamMatchesTheFileStderrIsOpenOn() throws {
        let directory = try SystemdTestSupport.temporaryDirectory()
        let path = directory + "/stream"
        let fd = open(path, O_CREAT | O_RDWR, 0o600)
        try #require(fd >= 0)
        defer {
            close(fd)
            unlink(path)
            rmdir(directory)
        }
        var status = stat()
        try #require(fstat(fd, &status) == 0)
        let matching = "\(status.st_dev):\(status.st_ino)"
        #expect(LoggingBootstrap.destination(journalStream: matching, fileDescriptor: fd) == .journald)
        #expect(
            LoggingBootstrap.destination(journalStream: "\(status.st_dev):\(status.st_ino + 1)", fileDescriptor: fd)
                == .terminal
        )
        #expect(
            LoggingBootstrap.destination(journalStream: "\(status.st_dev + 1):\(status.st_ino)", fileDescriptor: fd)
                == .terminal
        )
        #expect(LoggingBootstrap.destination(journalStream: nil, fileDescriptor: fd) == .terminal)
        #expect(LoggingBootstrap.destination(journalStream: matching, fileDescriptor: -1) == .terminal)
        for malformed in ["", ":", "12", "12:", "a:b", "1:2:3", "-1:5"] {
            #expect(
                LoggingBootstrap.destination(journalStream: malformed, fileDescriptor: fd) == .terminal,
                "\(malformed)"
            )
        }
    }
}
