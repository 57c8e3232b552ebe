import Foundation
import Logging
import PostgresNIO

/// `LISTEN ingestd_events` on a connection of its own: every node's event appends `NOTIFY` at commit, and
/// this calls `wake` so that the local `/events` followers read what is new (no polling). When the connection
/// is lost it is opened again every second; `wake` is called after each reconnect, since notifications sent
/// meanwhile were missed.
final class PostgresEventListener: CatalogEventWatch, @unchecked Sendable {
    private let pool: PostgresConnectionPool
    private let channel: String
    private let logger: Logger
    private let wake: @Sendable () -> Void
    private let lock = NSLock()
    private var stopped = false
    private var connection: PostgresConnection?
    private let eventLoop: any EventLoop

    init(pool: PostgresConnectionPool, channel: String, logger: Logger, wake: @escaping @Sendable () -> Void) {
        self.pool = pool
        self.channel = channel
        self.logger = logger
        self.wake = wake
        eventLoop = pool.eventLoopGroup.next()
        eventLoop.execute { self.connect() }
    }

    private func connect() {
        if isStopped { return }
        PostgresConnection.connect(on: eventLoop, configuration: pool.configuration, id: -1, logger: logger)
            .flatMap { connection -> EventLoopFuture<PostgresConnection> in
                connection.addListener(channel: self.channel) { _, _ in self.wake() }
                return connection.query(PostgresQuery(unsafeSQL: "LISTEN \(self.channel)"), logger: self.logger)
                    .map { _ in connection }
            }
            .whenComplete { result in
                switch result {
                case .success(let connection):
                    self.lock.lock()
                    let stop = self.stopped
                    if !stop { self.connection = connection }
                    self.lock.unlock()
                    if stop {
                        connection.closeInBackground()
                        return
                    }
                    self.wake()
                    connection.closeFuture.whenComplete { _ in self.retryLater() }
                case .failure:
                    self.retryLater()
                }
            }
    }

    private func retryLater() {
        if isStopped { return }
        eventLoop.scheduleTask(in: .seconds(1)) { self.connect() }
    }

    private var isStopped: Bool {
        lock.lock()
        defer { lock.unlock() }
        return stopped
    }

    func stop() {
        lock.lock()
        stopped = true
        let connection = self.connection
        self.connection = nil
        lock.unlock()
        connection?.closeInBackground()
    }
}
