import ArgumentParser
import Foundation
import IngestConfig
import Logging
import ServiceLifecycle
import StorageKit
import UnixSignals

/// Runs the daemon's lifetime: start-up (recovery, the control socket, the pipeline made ready), then the
/// services in one `ServiceGroup` — signals (SIGHUP reloads), control socket, watchdog, event feed, job workers
/// (thumbnails and renditions), take-overs of stopped nodes, ingest, watcher, readiness (READY=1).
/// SIGTERM/SIGINT shut them down gracefully in reverse order (STOPPING=1, stop taking files, finish work in
/// flight, close the socket) and `run` returns, so the process exits 0. A second signal while draining cuts
/// the drain short, which is safe because every step that moves a file is journalled.
struct DaemonRunner {
    let configuration: IngestConfiguration
    /// SIGTERM, SIGINT and SIGHUP, trapped by the entry point before it read the configuration.
    let signals: UnixSignalsSequence
    /// Re-reads file + environment + original flags (SIGHUP).
    let loadConfiguration: @Sendable () throws -> IngestConfiguration
    /// Opened by stop signals; the entry point watches them too (`IngestDaemonCommand`).
    let stops = StopRequests()

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
            var listener = ControlListener.path(configuration.controlSocketPath, mode: configuration.controlSocketMode)
            if let fd = try SocketActivation.inheritedControlSocket() {
                listener = .inherited(fd)
                socketDescription = "fd \(fd) from systemd"
            }
            server = try await ControlServer.start(
                listener,
                socketGroup: configuration.controlSocketGroup,
                backend: daemon,
                logger: logger
            )
        } catch {
            logger.critical("cannot open the control socket: \(error)")
            throw ExitCode.failure
        }

        do {
            try await daemon.prepare()
        } catch {
            logger.critical("cannot start: \(error)")
            await server.close()
            throw ExitCode.failure
        }

        // Started in this order, shut down in reverse, each service once the one after it has ended: readiness
        // first (STOPPING=1); the watcher (no new file is taken); ingest (files in flight finish); the job workers,
        // thumbnails and renditions together (a running decode or encode is interrupted, its job resumes at the
        // next start); the event feed (followers see their stream end). Meanwhile the watchdog keeps pinging and
        // the control socket answers; signals are heard to the very end.
        let handle = ServiceGroupHandle()
        let reloader = ConfigReloader(context: context, notifier: notifier, logger: logger, load: loadConfiguration)
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [
                    .init(
                        service: SignalService(signals: signals, group: handle, stops: stops, reloader: reloader)
                    ),
                    .init(service: ControlService(server: server)),
                    .init(service: SystemdWatchdogService(notifier: notifier, daemon: daemon, logger: logger)),
                    .init(service: EventFeedService(events: context.events)),
                    .init(service: JobWorkerService(workers: [daemon.thumbnails, daemon.renditions])),
                    .init(service: TakeOverService(daemon: daemon)),
                    .init(
                        service: IngestService(
                            daemon: daemon,
                            grace: Self.drainGrace,
                            cutShort: stops.cutShort,
                            logger: logger
                        )
                    ),
                    .init(service: WatcherService(daemon: daemon)),
                    .init(
                        service: SystemdReadinessService(
                            notifier: notifier,
                            logger: logger,
                            readyMetadata: [
                                "drop": "\(context.dropRoot)", "storage": "\(context.layout.root)",
                                "socket": "\(socketDescription)",
                            ]
                        )
                    ),
                ],
                logger: logger
            )
        )
        handle.set(group)
        try await group.run()
        // Every service has stopped: the catalog's connections close here, on this task, not in a deinit on
        // whichever thread lets go of the catalog last.
        _ = try? await context.blocking.run { [catalog = context.catalog] in catalog.close() }
        logger.info("stopped")
    }
}

extension Logger.Level {
    /// The swift-log level of a `LOG_LEVEL` name (the names are the same).
    init(_ name: LogLevelName) {
        self = Logger.Level(rawValue: name.rawValue) ?? .info
    }
}
