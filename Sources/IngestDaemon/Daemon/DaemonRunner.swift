import ArgumentParser
import Foundation
import IngestConfig
import Logging
import StorageKit
import UnixSignals

/// Runs the daemon's lifetime: start-up in order (recovery, pipeline, socket, READY=1), reloads on SIGHUP,
/// and on SIGTERM/SIGINT a drain in reverse order (STOPPING=1, stop taking files, finish or abandon work in
/// flight, close the socket) that exits 0. A second SIGTERM while draining exits at once, which is safe
/// because every step that moves a file is journalled.
struct DaemonRunner {
    let configuration: IngestConfiguration
    /// Re-reads file + environment + original flags (SIGHUP).
    let loadConfiguration: @Sendable () throws -> IngestConfiguration

    /// How long in-flight files may take to finish on SIGTERM (systemd's TimeoutStopSec is 30 s).
    static let drainGrace = Duration.seconds(20)

    func run() async throws {
        LoggingBootstrap.bootstrap(
            level: Logger.Level(configuration.logLevel),
            node: configuration.nodeID,
            environment: ProcessInfo.processInfo.environment
        )
        let logger = Logger(label: "ingestd")
        let notifier = SystemdNotifier(logger: logger)

        let context: DaemonContext
        let daemon: Daemon
        do {
            context = try DaemonContext(config: configuration, logger: logger)
            daemon = try Daemon(context: context)
            try await daemon.recover()
        } catch {
            logger.critical("cannot start: \(error)")
            throw ExitCode.failure
        }

        let server: ControlServer
        var socketDescription = configuration.controlSocketPath
        do {
            if let fd = try SocketActivation.inheritedControlSocket() {
                server = try await ControlServer.start(
                    inheritedFD: fd,
                    socketGroup: configuration.controlSocketGroup,
                    backend: daemon,
                    logger: logger
                )
                socketDescription = "fd \(fd) from systemd"
            } else {
                server = try await ControlServer.start(
                    path: configuration.controlSocketPath,
                    mode: configuration.controlSocketMode,
                    socketGroup: configuration.controlSocketGroup,
                    backend: daemon,
                    logger: logger
                )
            }
        } catch {
            logger.critical("cannot open the control socket: \(error)")
            throw ExitCode.failure
        }

        let signals = await UnixSignalsSequence(trapping: .sigterm, .sigint, .sighup)
        try await withThrowingDiscardingTaskGroup { group in
            try await daemon.start(in: &group)
            notifier.ready()
            logger.info(
                "ingestd ready",
                metadata: [
                    "drop": "\(context.dropRoot)", "storage": "\(context.layout.root)",
                    "socket": "\(socketDescription)",
                ]
            )
            if let interval = notifier.watchdogInterval {
                group.addTask {
                    await runWatchdog(
                        notifier: notifier,
                        interval: interval,
                        logger: logger,
                        isAlive: { await daemon.isAlive() }
                    )
                }
            }
            group.addTask { await Self.reportStatus(daemon: daemon, notifier: notifier) }

            var draining = false
            for await signal in signals {
                switch signal {
                case .sighup:
                    await reload(context: context, notifier: notifier, logger: logger)
                case .sigterm, .sigint:
                    if draining {
                        logger.warning(
                            "second stop signal while draining: exiting now; interrupted files are recovered at the next start"
                        )
                        exit(0)
                    }
                    draining = true
                    notifier.stopping()
                    logger.info("stopping: no new files are taken; finishing files in flight")
                    group.addTask {
                        await daemon.stop(grace: Self.drainGrace)
                        await server.close()
                        logger.info("stopped")
                        exit(0)
                    }
                default:
                    break
                }
            }
        }
    }

    /// SIGHUP: re-reads the configuration; live keys apply to later files, the others need a restart; a bad
    /// configuration is refused and the old one stays.
    private func reload(context: DaemonContext, notifier: SystemdNotifier, logger: Logger) async {
        notifier.reloading()
        defer { notifier.ready() }
        let new: IngestConfiguration
        do {
            new = try loadConfiguration()
        } catch {
            logger.error("reload refused, keeping the running configuration: \(error)")
            return
        }
        let old = context.config.current
        var applied = new
        var restartNeeded: [String] = []
        if new.storagePath != old.storagePath {
            restartNeeded.append("STORAGE_PATH")
            applied.storagePath = old.storagePath
        }
        if new.dropPath != old.dropPath {
            restartNeeded.append("DROP_PATH")
            applied.dropPath = old.dropPath
        }
        if new.controlSocketPath != old.controlSocketPath {
            restartNeeded.append("CONTROL_SOCKET")
            applied.controlSocket = old.controlSocket
        }
        if new.controlSocketMode != old.controlSocketMode {
            restartNeeded.append("CONTROL_SOCKET_MODE")
            applied.controlSocketMode = old.controlSocketMode
        }
        if new.controlSocketGroup != old.controlSocketGroup {
            restartNeeded.append("CONTROL_SOCKET_GROUP")
            applied.controlSocketGroup = old.controlSocketGroup
        }
        if new.catalogURL != old.catalogURL {
            restartNeeded.append("CATALOG_URL")
            applied.catalogURL = old.catalogURL
        }
        if new.nodeID != old.nodeID {
            restartNeeded.append("NODE_ID")
            applied.nodeID = old.nodeID
        }
        context.config.replace(with: applied)
        LoggingBootstrap.setLevel(Logger.Level(applied.logLevel))
        if !restartNeeded.isEmpty {
            logger.warning(
                "configuration reloaded; these keys need a restart to change: \(restartNeeded.joined(separator: ", "))"
            )
        } else {
            logger.notice("configuration reloaded")
        }
    }

    /// STATUS= with live figures when they change, at most once a second.
    private static func reportStatus(daemon: Daemon, notifier: SystemdNotifier) async {
        var last = ""
        while !Task.isCancelled {
            let ingest = await daemon.ingestQueue.depth
            let thumbs = await daemon.thumbnails.depth
            let settling = await daemon.settle.count
            var text =
                "\(daemon.ingested) ingested; queues: settling \(settling), ingest \(ingest), thumbnails \(thumbs)"
            if let error = daemon.lastErrorText { text += "; last error: \(error)" }
            if text != last {
                notifier.status(text)
                last = text
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }
}

extension Logger.Level {
    /// The swift-log level of a `LOG_LEVEL` name (the names are the same).
    init(_ name: LogLevelName) {
        self = Logger.Level(rawValue: name.rawValue) ?? .info
    }
}
