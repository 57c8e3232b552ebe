import Foundation
import Logging
import PostgresNIO

/// A small blocking pool of postgres-nio connections for the catalog's synchronous API: up to `size`
/// connections, opened on demand, handed to one caller at a time. A caller that finds them all busy waits
/// on a condition (it is on a thread pool, see `CatalogBackend`). Connections the server closed are
/// dropped and replaced on the next demand.
final class PostgresConnectionPool: @unchecked Sendable {
    let configuration: PostgresConnection.Configuration
    let eventLoopGroup: any EventLoopGroup
    let size: Int
    let logger: Logger
    private let condition = NSCondition()
    private var idle: [PostgresConnection] = []
    private var open = 0
    private var nextID = 0
    private var closed = false

    init(configuration: PostgresConnection.Configuration, eventLoopGroup: any EventLoopGroup, size: Int, logger: Logger)
    {
        self.configuration = configuration
        self.eventLoopGroup = eventLoopGroup
        self.size = max(1, size)
        self.logger = logger
    }

    /// A connection for the caller alone until `release`; opens one when none is idle and the pool has room.
    func acquire() throws -> PostgresConnection {
        condition.lock()
        while true {
            if closed {
                condition.unlock()
                throw PoolClosedError()
            }
            if let connection = idle.popLast() {
                if connection.isClosed {
                    open -= 1
                    continue
                }
                condition.unlock()
                return connection
            }
            if open < size {
                open += 1
                nextID += 1
                let id = nextID
                condition.unlock()
                do {
                    return try connect(id: id)
                } catch {
                    condition.lock()
                    open -= 1
                    condition.signal()
                    condition.unlock()
                    throw error
                }
            }
            condition.wait()
        }
    }

    /// Opens one connection outside the pool (for `LISTEN`, or a session advisory lock).
    func connect(id: Int) throws -> PostgresConnection {
        try PostgresConnection.connect(
            on: eventLoopGroup.next(),
            configuration: configuration,
            id: id,
            logger: logger
        ).wait()
    }

    /// Gives `connection` back; a broken one is closed and its place freed.
    func release(_ connection: PostgresConnection, broken: Bool) {
        condition.lock()
        if broken || closed || connection.isClosed {
            open -= 1
            condition.signal()
            condition.unlock()
            connection.closeInBackground()
            return
        }
        idle.append(connection)
        condition.signal()
        condition.unlock()
    }

    /// Closes the idle connections: after the server was lost they may look open and never answer again.
    func discardIdle() {
        condition.lock()
        let connections = idle
        idle.removeAll()
        open -= connections.count
        condition.broadcast()
        condition.unlock()
        for connection in connections { connection.closeInBackground() }
    }

    /// Whether `close()` was called.
    var isClosed: Bool {
        condition.lock()
        defer { condition.unlock() }
        return closed
    }

    /// Closes every idle connection (waiting for each unless `waiting` is false) and refuses new demands.
    func close(waiting: Bool = true) {
        condition.lock()
        closed = true
        let connections = idle
        idle.removeAll()
        condition.broadcast()
        condition.unlock()
        for connection in connections {
            if waiting { try? connection.close().wait() } else { connection.closeInBackground() }
        }
    }
}

/// The pool was closed (shutdown).
struct PoolClosedError: Error, CustomStringConvertible {
    var description: String { "the catalog is closed" }
}

extension PostgresConnection {
    /// Closes without waiting, keeping the connection alive until it is closed (postgres-nio asserts that a
    /// connection is closed before it is freed).
    func closeInBackground() {
        let close: EventLoopFuture<Void> = self.close()
        close.whenComplete { _ in withExtendedLifetime(self) {} }
    }
}
