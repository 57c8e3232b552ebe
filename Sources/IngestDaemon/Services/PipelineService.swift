import Logging
import ServiceLifecycle

/// The ingest pipeline as a service: watch events, settling, ingest workers, thumbnails and renditions run
/// until graceful shutdown; then it drains — no new files, files in flight finish within `grace` — unless a
/// second stop signal (`cutShort`) ends the drain at once. Interrupted work is journalled and recovered at the
/// next start.
struct PipelineService: Service {
    let daemon: Daemon
    /// How long files in flight may take to finish (systemd's TimeoutStopSec is 30 s).
    let grace: Duration
    /// Opened by a second stop signal.
    let cutShort: Latch
    let logger: Logger

    func run() async throws {
        await withDiscardingTaskGroup { group in
            daemon.launch(in: &group)
            try? await gracefulShutdown()
            switch await daemon.drain(grace: grace, cutShort: cutShort) {
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
