import ServiceLifecycle

/// The drop's watch as a service: inotify notices and scans go to the settle tracker, which hands settled files
/// to the ingest queue. At graceful shutdown it stops watching and closes the queue, so no new file is taken;
/// files the queue already holds are the ingest service's to finish.
struct WatcherService: Service {
    let daemon: Daemon

    func run() async throws {
        await withDiscardingTaskGroup { group in
            group.addTask { await daemon.consumeWatchEvents() }
            group.addTask { await daemon.settle.run() }
            try? await gracefulShutdown()
            await daemon.stopTakingFiles()
            group.cancelAll()
        }
    }
}
