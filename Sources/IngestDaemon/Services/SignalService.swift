import ServiceLifecycle
import Synchronization
import UnixSignals

/// The daemon's signals, trapped before anything else starts (a signal during recovery is kept, not lost, and
/// never kills the process with its default action): SIGHUP reloads the configuration; the first SIGTERM or
/// SIGINT shuts the service group down gracefully; the second opens `cutShort`, which ends the pipeline's drain
/// at once. Listed before the pipeline, it is shut down after it, so it listens for as long as the drain lasts.
struct SignalService: Service {
    let signals: UnixSignalsSequence
    let group: ServiceGroupHandle
    let cutShort: Latch
    let reloader: ConfigReloader

    func run() async throws {
        var stops = 0
        for await signal in signals.cancelOnGracefulShutdown() {
            switch signal {
            case .sighup:
                reloader.reload()
            case .sigterm, .sigint:
                stops += 1
                if stops == 1 {
                    await group.triggerGracefulShutdown()
                } else {
                    cutShort.open()
                }
            default:
                break
            }
        }
    }
}

/// The service group, known to the services only once it is made (it is made from them).
final class ServiceGroupHandle: Sendable {
    private let group = Mutex<ServiceGroup?>(nil)

    init() {}

    /// Names the group (once, before it runs).
    func set(_ group: ServiceGroup) {
        self.group.withLock { $0 = group }
    }

    /// Starts the group's graceful shutdown.
    func triggerGracefulShutdown() async {
        await group.withLock { $0 }?.triggerGracefulShutdown()
    }
}
