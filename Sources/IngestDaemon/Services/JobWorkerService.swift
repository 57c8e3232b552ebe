import ServiceLifecycle

/// A worker of catalog jobs that runs until told to stop: thumbnails, sprites and renditions.
protocol JobWorker: Sendable {
    /// Claims and runs jobs; returns once `stop()` was called and the running job was interrupted or ended.
    func run() async
    /// Stops promptly: queued jobs stay in the catalog, a running one gives its attempt back.
    func stop() async
}

extension ThumbnailService: JobWorker {}
extension RenditionService: JobWorker {}

/// The ``JobWorker``s as one service: they run until graceful shutdown, and are then stopped together and
/// waited for. Together, not one after the other: each may wait up to 3 s for a decoder to notice, and a second
/// stop signal leaves the process only 3 s to give every running job's attempt back.
struct JobWorkerService: Service {
    let workers: [any JobWorker]

    func run() async throws {
        await withDiscardingTaskGroup { group in
            for worker in workers {
                group.addTask { await worker.run() }
            }
            try? await gracefulShutdown()
            for worker in workers {
                group.addTask { await worker.stop() }
            }
        }
    }
}
