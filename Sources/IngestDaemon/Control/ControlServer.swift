import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

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

    init() {}
}

/// The control API's HTTP/1.1 server on a Unix-domain socket (SPEC "Control API").
///
/// Start it with ``start(path:mode:socketGroup:eventLoopGroup:threadPool:backend:logger:configuration:)`` (binds
/// the socket itself) or ``start(inheritedFD:socketGroup:eventLoopGroup:threadPool:backend:logger:configuration:)``
/// (socket activation), stop it with ``close()``. Every accepted connection is checked with `SO_PEERCRED` first.
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

    /// Binds `path` and starts serving.
    ///
    /// Creates the parent directory if missing. A socket file left by a crashed daemon (nobody accepts on it) is
    /// replaced; a socket someone listens on is an error ("another ingestd is running on …"), and so is any other
    /// kind of file, which is never removed. After binding, the socket gets `mode` and, when `socketGroup`
    /// (`CONTROL_SOCKET_GROUP`: a name or numeric gid) is set, that group.
    static func start(
        path: String,
        mode: UInt32 = 0o660,
        socketGroup: String? = nil,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        threadPool: NIOThreadPool = .singleton,
        backend: any ControlBackend,
        logger: Logger,
        configuration: ControlServerConfiguration = .init()
    ) async throws -> ControlServer {
        let gid = try ControlAccessPolicy.resolveGroup(socketGroup)
        try ControlSocketFile.prepare(path: path, logger: logger)
        let (stream, continuation) = AsyncStream<ControlConnection>.makeStream()
        let bootstrap = makeBootstrap(
            eventLoopGroup: eventLoopGroup,
            policy: ControlAccessPolicy(groupID: gid),
            connections: continuation,
            logger: logger,
            configuration: configuration
        )
        let channel: any Channel
        do {
            channel = try await bootstrap.bind(unixDomainSocketPath: path).get()
        } catch {
            continuation.finish()
            throw ControlServerError("cannot bind the control socket \(path): \(error)")
        }
        let inode: (dev: UInt64, ino: UInt64)?
        do {
            inode = try ControlSocketFile.applyOwnership(path: path, mode: mode, gid: gid)
        } catch {
            try? await channel.close()
            continuation.finish()
            _ = unlink(path)
            throw error
        }
        let task = makeAcceptTask(
            stream,
            backend: backend,
            logger: logger,
            configuration: configuration,
            threadPool: threadPool
        )
        logger.info(
            "control socket listening on \(path) (mode \(String(mode, radix: 8))\(gid.map { ", gid \($0)" } ?? ""))"
        )
        return ControlServer(
            socketPath: path,
            serverChannel: channel,
            acceptTask: task,
            connections: continuation,
            boundInode: inode,
            logger: logger
        )
    }

    /// Adopts a listening socket handed over by systemd (`sd_listen_fds`) and starts serving; the socket file's
    /// mode and group are systemd's (`SocketMode=`, `SocketGroup=`), `socketGroup` only widens the peer check.
    static func start(
        inheritedFD fd: CInt,
        socketGroup: String? = nil,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        threadPool: NIOThreadPool = .singleton,
        backend: any ControlBackend,
        logger: Logger,
        configuration: ControlServerConfiguration = .init()
    ) async throws -> ControlServer {
        let gid = try ControlAccessPolicy.resolveGroup(socketGroup)
        let (stream, continuation) = AsyncStream<ControlConnection>.makeStream()
        let bootstrap = makeBootstrap(
            eventLoopGroup: eventLoopGroup,
            policy: ControlAccessPolicy(groupID: gid),
            connections: continuation,
            logger: logger,
            configuration: configuration
        )
        let channel: any Channel
        do {
            channel = try await bootstrap.withBoundSocket(fd).get()
        } catch {
            continuation.finish()
            throw ControlServerError("cannot adopt the inherited control socket (fd \(fd)): \(error)")
        }
        let task = makeAcceptTask(
            stream,
            backend: backend,
            logger: logger,
            configuration: configuration,
            threadPool: threadPool
        )
        logger.info("control socket adopted from systemd (fd \(fd))")
        return ControlServer(
            socketPath: nil,
            serverChannel: channel,
            acceptTask: task,
            connections: continuation,
            boundInode: nil,
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
        var limits = NIOHTTPDecoderLimitConfiguration()
        limits.maxHeaderFieldSize = configuration.maxHeaderBytes
        limits.maxHeaderListSize = configuration.maxHeaderBytes
        limits.maxHeaderFieldCount = 256
        let decoderLimits = limits
        return ServerBootstrap(group: eventLoopGroup)
            .serverChannelOption(.backlog, value: 256)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelInitializer { channel in
                guard counter.tryAcquire(limit: configuration.maxConnections) else {
                    logger.warning(
                        "control connection refused: \(configuration.maxConnections) connections already open"
                    )
                    return channel.close()
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

/// Counts open connections against the limit.
final class ConnectionCounter: Sendable {
    private let count = Mutex(0)

    /// Takes a slot when fewer than `limit` are taken.
    func tryAcquire(limit: Int) -> Bool {
        count.withLock { n in
            guard n < limit else { return false }
            n += 1
            return true
        }
    }

    func release() { count.withLock { $0 -= 1 } }
}

/// The control socket's file: stale-socket detection before binding, mode and group after.
enum ControlSocketFile {
    /// Makes `path` bindable: creates its parent directory (0755) if missing; removes a stale socket nobody
    /// listens on; throws for a live socket or any other kind of file (left untouched).
    static func prepare(path: String, logger: Logger) throws(ControlServerError) {
        guard !path.isEmpty, path.utf8.count <= 107 else {
            throw ControlServerError("control socket path \(String(reflecting: path)) must be 1 to 107 bytes")
        }
        if let slash = path.lastIndex(of: "/"), slash != path.startIndex {
            try makeDirectories(String(path[..<slash]))
        }
        var st = stat()
        guard lstat(path, &st) == 0 else {
            let e = errno
            if e == ENOENT { return }
            throw ControlServerError("cannot inspect the control socket path \(path): \(String(cString: strerror(e)))")
        }
        guard (st.st_mode & S_IFMT) == S_IFSOCK else {
            throw ControlServerError(
                "\(path) exists and is not a socket (it is \(kind(of: st.st_mode))); refusing to replace it: "
                    + "remove it or set CONTROL_SOCKET to another path"
            )
        }
        switch probe(path) {
        case .refused:
            guard unlink(path) == 0 || errno == ENOENT else {
                let e = errno
                throw ControlServerError(
                    "cannot remove the stale control socket \(path): \(String(cString: strerror(e)))"
                )
            }
            logger.notice("removed stale control socket \(path) (nobody was listening on it)")
        case .listening:
            throw ControlServerError(
                "another ingestd is running on \(path): a process accepts connections on that socket; "
                    + "stop it first or set CONTROL_SOCKET to another path"
            )
        case .failed(let e):
            throw ControlServerError("cannot check whether \(path) is in use: connect: \(String(cString: strerror(e)))")
        }
    }

    /// Applies `mode` and `gid` to the bound socket; returns its device and inode.
    static func applyOwnership(
        path: String,
        mode: UInt32,
        gid: UInt32?
    ) throws(ControlServerError) -> (dev: UInt64, ino: UInt64)? {
        // chmod right after bind: the SO_PEERCRED check covers the instant before it.
        guard chmod(path, mode_t(mode)) == 0 else {
            let e = errno
            throw ControlServerError("chmod \(String(mode, radix: 8)) \(path): \(String(cString: strerror(e)))")
        }
        if let gid {
            guard chown(path, uid_t.max, gid) == 0 else {
                let e = errno
                throw ControlServerError(
                    "chown :\(gid) \(path) (CONTROL_SOCKET_GROUP): \(String(cString: strerror(e)))"
                )
            }
        }
        return inode(of: path)
    }

    /// Device and inode of `path` (not following a symlink).
    static func inode(of path: String) -> (dev: UInt64, ino: UInt64)? {
        var st = stat()
        guard lstat(path, &st) == 0 else { return nil }
        return (UInt64(st.st_dev), UInt64(st.st_ino))
    }

    enum Probe: Equatable {
        case refused
        case listening
        case failed(Int32)
    }

    /// Tries to connect to the socket at `path`.
    static func probe(_ path: String) -> Probe {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return .failed(errno) }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            let bytes = Array(path.utf8.prefix(raw.count - 1))
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        if rc == 0 { return .listening }
        let e = errno
        switch e {
        case ECONNREFUSED: return .refused
        case EAGAIN: return .listening  // listening, its backlog is full
        default: return .failed(e)
        }
    }

    private static func kind(of mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFREG: return "a regular file"
        case S_IFDIR: return "a directory"
        case S_IFLNK: return "a symbolic link"
        case S_IFIFO: return "a FIFO"
        case S_IFCHR, S_IFBLK: return "a device"
        default: return "not a socket"
        }
    }

    private static func makeDirectories(_ path: String) throws(ControlServerError) {
        var st = stat()
        if stat(path, &st) == 0 { return }
        var current = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            current += "/" + component
            if mkdir(current, 0o755) != 0 && errno != EEXIST {
                let e = errno
                throw ControlServerError(
                    "cannot create the control socket's directory \(current): \(String(cString: strerror(e)))"
                )
            }
        }
    }
}
