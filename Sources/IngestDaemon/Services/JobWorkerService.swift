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

/// A ``JobWorker`` as a service: it runs until graceful shutdown, and is then stopped and waited for.
struct JobWorkerService<Worker: JobWorker>: Service {
    let worker: Worker

    func run() async throws {
        await withDiscardingTaskGroup { group in
            group.addTask { await worker.run() }
            try? await gracefulShutdown()
            await worker.stop()
        }
    }
}
