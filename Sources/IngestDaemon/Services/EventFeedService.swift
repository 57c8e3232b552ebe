import ServiceLifecycle

/// The catalog's events as followed since start (`GET /events`, and other nodes' jobs waking this one's
/// workers). At graceful shutdown, once the pipeline has stopped and appended its last events, every
/// subscription ends, so that `/events` followers see the end of their stream before the socket closes.
struct EventFeedService: Service {
    let events: EventBus

    func run() async throws {
        try? await gracefulShutdown()
        await events.finishAll()
    }
}
