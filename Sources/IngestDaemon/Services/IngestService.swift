import Logging
import ServiceLifecycle

/// The ingest workers as a service. At graceful shutdown (after the watcher's, so the queue takes nothing new)
/// the files in flight finish, for at most `grace`, or until a second stop signal opens `cutShort`; whatever is
/// left is journalled and recovered at the next start.
struct IngestService: Service {
    let daemon: Daemon
    /// How long files in flight may take to finish (systemd's TimeoutStopSec is 30 s).
    let grace: Duration
    /// Opened by a second stop signal.
    let cutShort: Latch
    let logger: Logger

    func run() async throws {
        await withDiscardingTaskGroup { group in
            for _ in 0..<DaemonContext.ingestWorkers {
                group.addTask { await daemon.ingestWorker() }
            }
            try? await gracefulShutdown()
            switch await daemon.drainIngest(grace: grace, cutShort: cutShort) {
            case .finished:
                break
            case .timedOut:
                logger.warning("files still in flight after the grace period are recovered at the next start")
            case .cutShort:
                logger.warning(
                    "second stop signal while draining: stopping now; interrupted files are recovered at the next start"
                )
            }
            group.cancelAll()
        }
    }
}
