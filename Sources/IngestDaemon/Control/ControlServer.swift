import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// Limits of the control server.
struct ControlServerConfiguration: Sendable {
    /// Connections served at once; a connection accepted beyond this is closed at once.
    var maxConnections = 256
    /// A connection with no bytes read for this long is closed, unless its answer is being produced
    /// (a long backend call, an `/events` stream).
    var idleTimeout: TimeAmount = .seconds(60)
    /// Largest request header block (431 beyond it).
    var maxHeaderBytes = 16 * 1024
    /// Largest body of a request other than an upload (413 beyond it).
    var maxRequestBodyBytes = 64 * 1024
    /// Upload bytes buffered before they are written and hashed on the thread pool.
    var uploadFlushBytes = 1 << 20
    /// Tests only: every write to a staging file fails with this error, as on a full filesystem.
    var stagingWriteFault: Errno? = nil

    init() {}
}

/// Where the control server listens.
enum ControlListener: Sendable {
    /// A socket file it binds at the path, with these permission bits (`CONTROL_SOCKET`, `CONTROL_SOCKET_MODE`).
    case path(String, mode: UInt32 = 0o660)
    /// A listening socket systemd handed over (socket activation).
    case inherited(CInt)
}

/// The control API's HTTP/1.1 server on a Unix-domain socket (SPEC "Control API").
///
/// Start it with ``start(_:socketGroup:eventLoopGroup:threadPool:backend:logger:configuration:)`` on a socket path
/// it binds or on a socket systemd handed over, stop it with ``close()``. Every accepted connection is checked
/// with `SO_PEERCRED` first.
final class ControlServer: Sendable {
    /// The socket path this server bound (and removes on close); `nil` for an inherited socket.
    let socketPath: String?
    private let serverChannel: any Channel
    private let acceptTask: Task<Void, Never>
    private let connections: AsyncStream<ControlConnection>.Continuation
    private let boundInode: (dev: UInt64, ino: UInt64)?
    private let logger: Logger

    private init(
        socketPath: String?,
        serverChannel: any Channel,
        acceptTask: Task<Void, Never>,
        connections: AsyncStream<ControlConnection>.Continuation,
        boundInode: (dev: UInt64, ino: UInt64)?,
        logger: Logger
    ) {
        self.socketPath = socketPath
        self.serverChannel = serverChannel
        self.acceptTask = acceptTask
        self.connections = connections
        self.boundInode = boundInode
        self.logger = logger
    }

    /// Binds the socket `listener` names, or adopts the one systemd handed over, and starts serving.
    ///
    /// A path: its parent directory is created if missing. A socket file left by a crashed daemon (nobody accepts
    /// on it) is replaced; a socket someone listens on is an error ("another ingestd is running on …"), and so is
    /// any other kind of file, which is never removed. After binding, the socket gets its mode and, when
    /// `socketGroup` (`CONTROL_SOCKET_GROUP`: a name or numeric gid) is set, that group. An inherited socket
    /// (`sd_listen_fds`) keeps systemd's mode and group (`SocketMode=`, `SocketGroup=`); `socketGroup` then only
    /// widens the peer check.
    static func start(
        _ listener: ControlListener,
        socketGroup: String? = nil,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        threadPool: NIOThreadPool = .singleton,
        backend: any ControlBackend,
        logger: Logger,
        configuration: ControlServerConfiguration = .init()
    ) async throws -> ControlServer {
        let gid = try ControlAccessPolicy.resolveGroup(socketGroup)
        let socketPath: String?
        let bind: (ServerBootstrap) async throws -> any Channel
        let prepare: (any Channel) async throws -> (dev: UInt64, ino: UInt64)?
        switch listener {
        case .path(let path, let mode):
            try ControlSocketFile.prepare(path: path, logger: logger)
            socketPath = path
            bind = { bootstrap in
                do {
                    return try await bootstrap.bind(unixDomainSocketPath: path).get()
                } catch {
                    throw ControlServerError("cannot bind the control socket \(path): \(error)")
                }
            }
            prepare = { channel in
                do {
                    let inode = try ControlSocketFile.applyOwnership(path: path, mode: mode, gid: gid)
                    logger.info(
                        "control socket listening on \(path) (mode \(String(mode, radix: 8))\(gid.map { ", gid \($0)" } ?? ""))"
                    )
                    return inode
                } catch {
                    try? await channel.close()
                    _ = unlink(path)
                    throw error
                }
            }
        case .inherited(let fd):
            socketPath = nil
            bind = { bootstrap in
                do {
                    return try await bootstrap.withBoundSocket(fd).get()
                } catch {
                    throw ControlServerError("cannot adopt the inherited control socket (fd \(fd)): \(error)")
                }
            }
            prepare = { _ in
                logger.info("control socket adopted from systemd (fd \(fd))")
                return nil
            }
        }
        return try await serve(
            socketPath: socketPath,
            groupID: gid,
            eventLoopGroup: eventLoopGroup,
            threadPool: threadPool,
            backend: backend,
            logger: logger,
            configuration: configuration,
            bind: bind,
            prepare: prepare
        )
    }

    /// Listens on the channel `bind` makes from the bootstrap; `prepare` finishes the socket (its file's mode
    /// and group) and returns the inode `close()` may remove. A failure of either leaves nothing open.
    private static func serve(
        socketPath: String?,
        groupID: UInt32?,
        eventLoopGroup: any EventLoopGroup,
        threadPool: NIOThreadPool,
        backend: any ControlBackend,
        logger: Logger,
        configuration: ControlServerConfiguration,
        bind: (ServerBootstrap) async throws -> any Channel,
        prepare: (any Channel) async throws -> (dev: UInt64, ino: UInt64)?
    ) async throws -> ControlServer {
        let (stream, continuation) = AsyncStream<ControlConnection>.makeStream()
        let bootstrap = makeBootstrap(
            eventLoopGroup: eventLoopGroup,
            policy: ControlAccessPolicy(groupID: groupID),
            connections: continuation,
            logger: logger,
            configuration: configuration
        )
        let channel: any Channel
        let inode: (dev: UInt64, ino: UInt64)?
        do {
            channel = try await bind(bootstrap)
            inode = try await prepare(channel)
        } catch {
            continuation.finish()
            throw error
        }
        let task = makeAcceptTask(
            stream,
            backend: backend,
            logger: logger,
            configuration: configuration,
            threadPool: threadPool
        )
        return ControlServer(
            socketPath: socketPath,
            serverChannel: channel,
            acceptTask: task,
            connections: continuation,
            boundInode: inode,
            logger: logger
        )
    }

    /// Stops accepting, ends every connection (in-flight backend calls are cancelled, `/events` streams end) and
    /// removes the socket file this server bound, if it is still the same file.
    func close() async {
        try? await serverChannel.close()
        connections.finish()
        acceptTask.cancel()
        await acceptTask.value
        if let socketPath, let boundInode, let now = ControlSocketFile.inode(of: socketPath),
            now.dev == boundInode.dev, now.ino == boundInode.ino
        {
            _ = unlink(socketPath)
        }
        logger.info("control socket closed")
    }

    // MARK: - Setup

    private static func makeAcceptTask(
        _ stream: AsyncStream<ControlConnection>,
        backend: any ControlBackend,
        logger: Logger,
        configuration: ControlServerConfiguration,
        threadPool: NIOThreadPool
    ) -> Task<Void, Never> {
        let handler = ControlConnectionHandler(
            backend: backend,
            logger: logger,
            configuration: configuration,
            threadPool: threadPool
        )
        return Task {
            await withDiscardingTaskGroup { group in
                for await connection in stream {
                    group.addTask { await handler.serve(connection) }
                }
                group.cancelAll()
            }
        }
    }

    private static func makeBootstrap(
        eventLoopGroup: any EventLoopGroup,
        policy: ControlAccessPolicy,
        connections: AsyncStream<ControlConnection>.Continuation,
        logger: Logger,
        configuration: ControlServerConfiguration
    ) -> ServerBootstrap {
        let counter = ConnectionCounter()
        let refusing = ConnectionCounter()
        var limits = NIOHTTPDecoderLimitConfiguration()
        limits.maxHeaderFieldSize = configuration.maxHeaderBytes
        limits.maxHeaderListSize = configuration.maxHeaderBytes
        limits.maxHeaderFieldCount = 256
        let decoderLimits = limits
        return ServerBootstrap(group: eventLoopGroup)
            .serverChannelOption(.backlog, value: 256)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            // A client may shut down its sending side once its request is out (`nc -N`, `socat`): it still
            // gets its answer, and the connection closes after it.
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelInitializer { channel in
                guard counter.tryAcquire(limit: configuration.maxConnections) else {
                    logger.warning(
                        "control connection refused: \(configuration.maxConnections) connections already open"
                    )
                    guard refusing.tryAcquire(limit: OverCapacityAnswer.lingering) else { return channel.close() }
                    channel.closeFuture.whenComplete { _ in refusing.release() }
                    return channel.pipeline.addHandler(OverCapacityAnswer(limit: configuration.maxConnections))
                }
                channel.closeFuture.whenComplete { _ in counter.release() }
                return PeerCredentials.read(from: channel).map { Optional($0) }.recover { _ in nil }
                    .flatMapThrowing { peer in
                        let allowed = peer.map(policy.allows) ?? false
                        if !allowed {
                            logger.warning(
                                "control connection refused: peer not allowed",
                                metadata: [
                                    "peer.uid": "\(peer.map { String($0.uid) } ?? "unknown")",
                                    "peer.pid": "\(peer.map { String($0.pid) } ?? "unknown")",
                                ]
                            )
                        }
                        let sync = channel.pipeline.syncOperations
                        let headGuard = RequestHeadGuard(limit: configuration.maxHeaderBytes * 4)
                        try sync.addHandler(IdleStateHandler(readTimeout: configuration.idleTimeout))
                        try sync.addHandler(headGuard)
                        try sync.configureHTTPServerPipeline(
                            position: .last,
                            withPipeliningAssistance: true,
                            withServerUpgrade: nil,
                            withErrorHandling: false,
                            withOutboundHeaderValidation: true,
                            withEncoderConfiguration: .init(),
                            withDecoderLimitConfiguration: decoderLimits
                        )
                        try sync.addHandler(ControlDateHandler())
                        try sync.addHandler(ControlProtocolErrorHandler())
                        try sync.addHandler(ControlIdleHandler(headGuard: headGuard))
                        let files = DeliveredFiles()
                        channel.closeFuture.whenComplete { _ in files.closeAll() }
                        try sync.addHandler(FileRegionCloser(files: files))
                        let asyncChannel = try ControlHTTPChannel(
                            wrappingChannelSynchronously: channel,
                            configuration: .init(backPressureStrategy: .init(lowWatermark: 2, highWatermark: 8))
                        )
                        if case .terminated = connections.yield(
                            ControlConnection(channel: asyncChannel, peer: peer, allowed: allowed, files: files)
                        ) {
                            channel.close(promise: nil)
                        }
                    }
            }
    }
}
