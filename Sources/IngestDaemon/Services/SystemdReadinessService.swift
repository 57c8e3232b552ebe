import Logging
import ServiceLifecycle

/// Tells systemd the daemon is ready when the group runs (recovery is done, the socket is bound, the watcher
/// started) and that it is stopping as soon as shutdown begins. Listed after the pipeline, it is the first to
/// hear of a shutdown, so STOPPING=1 goes out before the drain.
struct SystemdReadinessService: Service {
    let notifier: SystemdNotifier
    let logger: Logger
    /// Logged with the ready line: drop, storage and socket.
    let readyMetadata: Logger.Metadata

    func run() async throws {
        notifier.ready()
        logger.info("ingestd ready", metadata: readyMetadata)
        try? await gracefulShutdown()
        notifier.stopping()
        logger.info("stopping: no new files are taken; finishing files in flight")
    }
}
