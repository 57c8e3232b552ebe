import Foundation
import IngestConfig
import Logging
import NIOCore
import NIOPosix
import PostgresNIO

/// The catalog in PostgreSQL through postgres-nio, shared by every node pointed at the same database.
///
/// The catalog's API is synchronous (its callers run on thread pools), so each call borrows a pooled
/// connection and blocks its thread on postgres-nio's `EventLoopFuture`s; the connections themselves run on
/// this backend's own one-thread event loop group, so a waiting caller can never hold up their I/O.
final class PostgresBackend: CatalogBackend, @unchecked Sendable {
    let location: String
    let pool: PostgresConnectionPool
    private let group: MultiThreadedEventLoopGroup
    private let logger: Logger
    private let state = NSLock()
    private var reason: String?
    private var closed = false

    /// The most connections one node keeps, however many threads call it: each is a server process, and several
    /// nodes share the server's `max_connections` (100 by default). Callers beyond it wait for a connection.
    static let maxConnections = 16

    /// Connects to `target`, brings the schema up to date and keeps up to `poolSize` connections (at most
    /// ``maxConnections``).
    ///
    /// - Throws: `StorageError` `.catalogUnavailable` when the server cannot be reached or refuses the login,
    ///   `.catalog` for other failures; both name the URL without its password.
    init(target: CatalogURL.PostgresTarget, redactedURL: String, poolSize: Int, logger: Logger) throws {
        location = redactedURL
        self.logger = logger
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        var configuration: PostgresConnection.Configuration
        if let socket = target.socketPath {
            configuration = .init(
                unixSocketPath: socket,
                username: target.user,
                password: target.password,
                database: target.database
            )
        } else {
            configuration = .init(
                host: target.host ?? "localhost",
                port: target.port,
                username: target.user,
                password: target.password,
                database: target.database,
                tls: try Self.tls(target.sslMode)
            )
        }
        configuration.options.connectTimeout = .seconds(5)
        pool = PostgresConnectionPool(
            configuration: configuration,
            eventLoopGroup: group,
            size: min(poolSize, Self.maxConnections),
            logger: logger
        )
        do {
            // A first statement fails fast when the server cannot be reached (a write would wait for it).
            try read("connect", nodeID: "") { try $0.execute("SELECT 1", []) }
            try write("migrate", nodeID: "") { try PostgresMigrations.migrate($0) }
        } catch {
            close()
            throw error
        }
    }

    private static func tls(_ mode: CatalogURL.SSLMode) throws -> PostgresConnection.Configuration.TLS {
        var tls = TLSConfiguration.makeClientConfiguration()
        switch mode {
        case .disable: return .disable
        case .prefer, .require: tls.certificateVerification = .none
        case .verifyCA: tls.certificateVerification = .noHostnameVerification
        case .verifyFull: tls.certificateVerification = .fullVerification
        }
        let context = try NIOSSLContext(configuration: tls)
        return mode == .prefer ? .prefer(context) : .require(context)
    }

    /// How long a write waits for a lost server to come back before it fails: a file in the middle of a move
    /// keeps its worker until the catalog answers again, so nothing is left half-moved; files not yet taken
    /// wait in the drop meanwhile.
    static let writeWait = Duration.seconds(300)

    func write<T>(_ operation: String, nodeID: String, _ body: (any CatalogConnection) throws -> T) throws -> T {
        try write(operation, nodeID: nodeID, waitingFor: Self.writeWait, body)
    }

    /// A journal entry before anything moved: fails at once when the server is lost (the file waits where it
    /// is, and `/health` says why) instead of holding a worker for `writeWait`.
    func writeStartingWork<T>(
        _ operation: String,
        nodeID: String,
        durable: Bool,
        _ body: (any CatalogConnection) throws -> T
    ) throws -> T {
        try write(operation, nodeID: nodeID, waitingFor: .zero, body)
    }

    /// One write transaction, run again while the server is lost and nothing was committed, for up to `wait`.
    private func write<T>(
        _ operation: String,
        nodeID: String,
        waitingFor wait: Duration,
        _ body: (any CatalogConnection) throws -> T
    ) throws -> T {
        let deadline = ContinuousClock.now + wait
        var attempt = 0
        while true {
            attempt += 1
            var committing = false
            do {
                return try withConnection(operation) { connection in
                    let db = PostgresSQLConnection(connection: connection, nodeID: nodeID, logger: logger)
                    try db.execute("BEGIN", [])
                    do {
                        let result = try body(db)
                        committing = true
                        try db.execute("COMMIT", [])
                        return result
                    } catch {
                        // A lost connection rolled the transaction back on the server; a ROLLBACK sent on it
                        // might never be answered.
                        if !committing, !connection.isClosed, !Self.losesConnection(error) {
                            _ = try? db.execute("ROLLBACK", [])
                        }
                        throw error
                    }
                }
            } catch let error as PSQLError where attempt < 5 && Self.isRetryable(error) {
                // A serialization failure or deadlock rolled the transaction back whole: run it again.
                continue
            } catch let error as StorageError
                where error.code == .catalogUnavailable && !committing && ContinuousClock.now < deadline
                && !pool.isClosed
            {
                // Nothing was committed: wait for the server and run the transaction again. (A connection lost
                // during COMMIT leaves the outcome unknown: that is reported, not retried.)
                Thread.sleep(forTimeInterval: 1)
                continue
            }
        }
    }

    func read<T>(_ operation: String, nodeID: String, _ body: (any CatalogConnection) throws -> T) throws -> T {
        try withConnection(operation) { connection in
            try body(PostgresSQLConnection(connection: connection, nodeID: nodeID, logger: logger))
        }
    }

    /// Borrows a connection for `body`, maps failures to `StorageError`s that name the redacted URL, and
    /// keeps `unavailableReason` current.
    private func withConnection<T>(_ operation: String, _ body: (PostgresConnection) throws -> T) throws -> T {
        let connection: PostgresConnection
        do {
            connection = try pool.acquire()
        } catch {
            throw unavailable(operation, error)
        }
        do {
            let result = try body(connection)
            pool.release(connection, broken: false)
            setReason(nil)
            return result
        } catch let error as PSQLError where Self.isRetryable(error) {
            pool.release(connection, broken: false)
            throw error
        } catch let error as PSQLError {
            let lost = Self.isConnectionLoss(error)
            pool.release(connection, broken: lost || connection.isClosed)
            if lost { throw unavailable(operation, error) }
            throw StorageError.catalog(location, operation, Self.describe(error))
        } catch let error as CatalogConstraintViolation {
            pool.release(connection, broken: false)
            throw StorageError.catalog(location, operation, error.message)
        } catch let error as StorageError {
            pool.release(connection, broken: connection.isClosed)
            throw error
        } catch {
            // A lost connection (NIO's channel and I/O errors, an unanswered statement); anything else came from
            // the caller's closure (the transaction was rolled back, the connection is fine).
            let lost = Self.losesConnection(error)
            pool.release(connection, broken: lost || connection.isClosed)
            if lost { throw unavailable(operation, error) }
            throw error
        }
    }

    /// Whether `error` means the connection it came from is gone.
    static func losesConnection(_ error: any Error) -> Bool {
        if let error = error as? PSQLError { return isConnectionLoss(error) }
        return error is ChannelError || error is IOError || error is StatementUnanswered
    }

    private func unavailable(_ operation: String, _ error: any Error) -> StorageError {
        // The other connections were opened to the same lost server: none is trusted again.
        pool.discardIdle()
        let detail = Self.describe(error)
        setReason("the catalog \(location) cannot be reached: \(detail)")
        return StorageError(code: .catalogUnavailable, message: "catalog \(location): \(operation): \(detail)")
    }

    private func setReason(_ text: String?) {
        state.lock()
        if reason != text {
            if let text {
                logger.error("catalog unreachable", metadata: ["reason": "\(text)"])
            } else if reason != nil {
                logger.notice("catalog reachable again", metadata: ["catalog": "\(location)"])
            }
        }
        reason = text
        state.unlock()
    }

    var unavailableReason: String? {
        state.lock()
        defer { state.unlock() }
        return reason
    }

    func watchEvents(_ wake: @escaping @Sendable () -> Void) -> (any CatalogEventWatch)? {
        PostgresEventListener(pool: pool, channel: EventTable.channel, logger: logger, wake: wake)
    }

    func exclusively<T>(_ key: Int64, busy: String, _ body: () throws -> T) throws -> T {
        guard let result = try withAdvisoryLock(key, shared: false, purpose: busy, body) else {
            throw StorageError.conflict(busy)
        }
        return result
    }

    func withAdvisoryLock<T>(_ key: Int64, shared: Bool, purpose: String, _ body: () throws -> T) throws -> T? {
        // A session lock on a connection of its own, held for the whole of `body` (whose catalog calls use the
        // pool); the server drops it by itself if this node dies.
        let connection: PostgresConnection
        do {
            connection = try pool.connect(id: -3)
        } catch {
            throw unavailable("lock for \(purpose)", error)
        }
        defer { connection.closeInBackground() }
        let db = PostgresSQLConnection(connection: connection, nodeID: "", logger: logger)
        do {
            let attempt = shared ? "SELECT pg_try_advisory_lock_shared(?)" : "SELECT pg_try_advisory_lock(?)"
            // A sharer waits by trying again (a statement left waiting would pass for a lost server).
            while try db.fetchOne(attempt, [key])?.get(0, as: Int64.self) != 1 {
                guard shared else { return nil }
                Thread.sleep(forTimeInterval: 0.05)
            }
        } catch {
            throw unavailable("lock for \(purpose)", error)
        }
        defer {
            _ = try? db.execute(shared ? "SELECT pg_advisory_unlock_shared(?)" : "SELECT pg_advisory_unlock(?)", [key])
        }
        return try body()
    }

    var isClosed: Bool { pool.isClosed }

    func close() {
        state.lock()
        let first = !closed
        closed = true
        state.unlock()
        guard first else { return }
        // On one of NIO's event loop threads (the last reference let go in a callback), waiting would deadlock
        // (NIO traps): the connections and the group then close in the background.
        let onEventLoop = MultiThreadedEventLoopGroup.currentEventLoop != nil
        pool.close(waiting: !onEventLoop)
        if onEventLoop {
            group.shutdownGracefully { _ in }
        } else {
            try? group.syncShutdownGracefully()
        }
    }

    deinit {
        // A catalog let go without close() (tests, tools) still closes its connections.
        close()
    }

    /// Serialization failures and deadlocks: the server rolled back; the same transaction may simply run again.
    static func isRetryable(_ error: PSQLError) -> Bool {
        guard error.code == .server, let state = error.serverInfo?[.sqlState] else { return false }
        return state == "40001" || state == "40P01"
    }

    /// Errors that mean the server or the way to it is gone (as opposed to a refused statement).
    static func isConnectionLoss(_ error: PSQLError) -> Bool {
        switch error.code {
        case .serverClosedConnection, .clientClosedConnection, .connectionError, .uncleanShutdown, .poolClosed:
            return true
        case .server:
            // 08: connection exceptions; 57P: the server is shutting down, crashed, or starting up; 53300: full.
            let state = error.serverInfo?[.sqlState] ?? ""
            return state.hasPrefix("08") || state.hasPrefix("57P") || state == "53300"
        default:
            return false
        }
    }

    /// Words for an error that never carry the password (postgres-nio's own description is deliberately vague).
    static func describe(_ error: any Error) -> String {
        guard let error = error as? PSQLError else { return "\(error)" }
        if let message = error.serverInfo?[.message] {
            let state = error.serverInfo?[.sqlState].map { " (SQLSTATE \($0))" } ?? ""
            return message + state
        }
        var text = "\(error.code)"
        if let underlying = error.underlying { text += ": " + describeConnectionFailure(underlying) }
        return text
    }

    /// A connection failure in words (`connection refused at [::1]:5432`, `no server socket: no such file or
    /// directory`), not SwiftNIO's descriptions with their system call signatures.
    static func describeConnectionFailure(_ error: any Error) -> String {
        func reason(_ error: any Error) -> String {
            guard let io = error as? IOError else { return "\(error)" }
            return String(cString: strerror(io.errnoCode)).lowercased()
        }
        switch error {
        case let failure as NIOConnectionError:
            if failure.dnsAError != nil || failure.dnsAAAAError != nil {
                return "the host name \(failure.host) cannot be resolved"
            }
            let attempts = failure.connectionErrors.map { attempt in
                let address = attempt.target.ipAddress.map { $0.contains(":") ? "[\($0)]" : $0 } ?? failure.host
                return "\(reason(attempt.error)) at \(address):\(attempt.target.port ?? failure.port)"
            }
            return attempts.isEmpty
                ? "cannot connect to \(failure.host):\(failure.port)" : attempts.joined(separator: "; ")
        case let io as IOError:
            // A Unix socket: the server's socket file is missing or refuses.
            return "no server socket: " + reason(io)
        default:
            return "\(error)"
        }
    }
}
