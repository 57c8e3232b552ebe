import Logging
import ServiceLifecycle

/// Pings systemd's watchdog while the pipeline answers (when `WatchdogSec=` is set) and keeps `STATUS=` up to
/// date with live figures. Listed before the pipeline, it keeps pinging while the pipeline drains.
struct SystemdWatchdogService: Service {
    let notifier: SystemdNotifier
    let daemon: Daemon
    let logger: Logger

    func run() async throws {
        await withDiscardingTaskGroup { group in
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
            group.addTask { await reportStatus() }
            try? await gracefulShutdown()
            group.cancelAll()
        }
    }

    /// STATUS= with live figures when they change, at most once a second.
    private func reportStatus() async {
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
