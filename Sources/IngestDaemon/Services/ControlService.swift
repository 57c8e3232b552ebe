import ServiceLifecycle

/// The control socket as a service. The server is bound before the group starts (READY=1 must follow a
/// socket that accepts); listed before the pipeline, it is shut down after it: `/health` answers while the
/// pipeline drains. Closing cancels every connection, so a client that stopped reading cannot hold the stop.
struct ControlService: Service {
    let server: ControlServer

    func run() async throws {
        // Returns at graceful shutdown; throws when the group is cancelled instead. Either way: close.
        try? await gracefulShutdown()
        await server.close()
    }
}
