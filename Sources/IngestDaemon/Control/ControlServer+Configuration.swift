import IngestConfig
import Logging
import NIOCore
import NIOPosix

extension ControlServer {
    /// Starts the server as the configuration says: adopts `inheritedFD` (socket activation) when given, else binds
    /// `CONTROL_SOCKET` (or its default) with `CONTROL_SOCKET_MODE` and `CONTROL_SOCKET_GROUP`.
    static func start(
        settings: IngestConfiguration,
        inheritedFD: CInt? = nil,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        backend: any ControlBackend,
        logger: Logger,
        configuration: ControlServerConfiguration = .init()
    ) async throws -> ControlServer {
        if let inheritedFD {
            return try await start(
                inheritedFD: inheritedFD,
                socketGroup: settings.controlSocketGroup,
                eventLoopGroup: eventLoopGroup,
                backend: backend,
                logger: logger,
                configuration: configuration
            )
        }
        return try await start(
            path: settings.controlSocketPath,
            mode: settings.controlSocketMode,
            socketGroup: settings.controlSocketGroup,
            eventLoopGroup: eventLoopGroup,
            backend: backend,
            logger: logger,
            configuration: configuration
        )
    }
}
