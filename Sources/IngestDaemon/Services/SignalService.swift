import ServiceLifecycle
import Synchronization
import UnixSignals

/// The daemon's signals, trapped before anything else starts (a signal during recovery is kept, not lost, and
/// never kills the process with its default action): SIGHUP reloads the configuration; the first SIGTERM or
/// SIGINT shuts the service group down gracefully; the second opens `stops.cutShort`, which ends the pipeline's
/// drain at once (and lets the entry point end the process if the rest of the stop hangs). Listed first, it is
/// shut down last: it listens for as long as any part of the stop lasts.
struct SignalService: Service {
    let signals: UnixSignalsSequence
    let group: ServiceGroupHandle
    let stops: StopRequests
    let reloader: ConfigReloader

    func run() async throws {
        // Reloads run one at a time beside this loop, so that a stop signal is heard while one reads the file;
        // SIGHUPs that arrive meanwhile make one more reload.
        let (reloads, requestReload) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let reloading = Task { [reloader] in
            for await _ in reloads { await reloader.reload() }
        }
        defer {
            requestReload.finish()
            reloading.cancel()
        }
        var count = 0
        for await signal in signals.cancelOnGracefulShutdown() {
            switch signal {
            case .sighup:
                requestReload.yield()
            case .sigterm, .sigint:
                count += 1
                if count == 1 {
                    stops.requested.open()
                    await group.triggerGracefulShutdown()
                } else {
                    stops.cutShort.open()
                }
            default:
                break
            }
        }
    }
}

/// What stop signals asked for: a graceful stop (the first), and cutting its drain short (the second).
final class StopRequests: Sendable {
    let requested = Latch()
    let cutShort = Latch()

    init() {}
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
