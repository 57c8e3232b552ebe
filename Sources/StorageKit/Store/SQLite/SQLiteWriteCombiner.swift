import Foundation
import GRDB

/// Runs the write transactions that several threads ask for at once as one SQLite transaction, each in a
/// savepoint of its own: the group commit a database server makes. SQLite has one writer; in a burst every
/// ingest, claim and thumbnail waits for it, and each transaction pays for its begin and its commit (locks,
/// the WAL's header and index, a page written again for every transaction that touched it). A caller that
/// arrives while a transaction runs waits, and the next transaction carries it together with the others that
/// came meanwhile.
///
/// Each caller's work stays its own: it sees the writes of those before it in the batch, a failure rolls back
/// its savepoint only, and it returns once the transaction that holds its writes has committed (or with the
/// error that stopped that transaction: then nothing of the batch is stored, and every caller in it is told).
final class SQLiteWriteCombiner: @unchecked Sendable {
    private let writer: any DatabaseWriter
    // `queue`, `leader` and each request's `outcome` are read and written only with `condition` locked.
    private let condition = NSCondition()
    private var queue: [Request] = []
    /// The thread running the current transaction, nil when none runs: a write asked for from inside it would
    /// wait for itself.
    private var leader: pthread_t?

    /// The most callers one transaction carries: a batch is one caller's wait for the others.
    static let largestBatch = 32

    init(writer: any DatabaseWriter) {
        self.writer = writer
    }

    /// One caller's work, run on whichever thread leads the transaction while the caller waits.
    private final class Request {
        let run: (Database) throws -> Void
        var outcome: Result<Void, any Error>?

        init(_ run: @escaping (Database) throws -> Void) {
            self.run = run
        }
    }

    /// Runs `body` in a write transaction shared with the callers waiting at the same time; returns once it has
    /// committed.
    func write<T>(_ body: (Database) throws -> T) throws -> T {
        try withoutActuallyEscaping(body) { body in
            var value: T?
            // The caller waits in `submit` until the transaction has ended: `body` and `value` outlive its run.
            try submit(Request { db in value = try body(db) })
            guard let value else { preconditionFailure("a committed write left no value") }
            return value
        }
    }

    /// Callers waiting for a transaction now (tests: a batch can be made to form).
    var waiting: Int {
        condition.lock()
        defer { condition.unlock() }
        return queue.count
    }

    private func submit(_ request: Request) throws {
        condition.lock()
        if let leader, pthread_equal(leader, pthread_self()) != 0 {
            condition.unlock()
            // GRDB stops a nested write the same way; waiting here would hang every writer without a word.
            preconditionFailure("a catalog write was asked for from inside another write's transaction")
        }
        queue.append(request)
        while request.outcome == nil {
            if leader != nil {
                condition.wait()
                continue
            }
            // No transaction runs: this caller leads the next one, for itself and whoever waits.
            leader = pthread_self()
            let batch = Array(queue.prefix(Self.largestBatch))
            queue.removeFirst(batch.count)
            condition.unlock()
            let outcomes = run(batch)
            condition.lock()
            for (waiter, outcome) in zip(batch, outcomes) { waiter.outcome = outcome }
            leader = nil
            condition.broadcast()
        }
        let outcome = request.outcome!
        condition.unlock()
        try outcome.get()
    }

    /// Runs `batch` in one transaction and answers each request's outcome.
    private func run(_ batch: [Request]) -> [Result<Void, any Error>] {
        var outcomes = [Result<Void, any Error>](repeating: .success(()), count: batch.count)
        do {
            try writer.write { db in
                if batch.count == 1 {
                    // Alone: the transaction is the caller's, rolled back whole when it throws.
                    try batch[0].run(db)
                    return
                }
                for (index, request) in batch.enumerated() {
                    do {
                        try db.inSavepoint {
                            try request.run(db)
                            return .commit
                        }
                    } catch {
                        outcomes[index] = .failure(error)
                        // The caller's own refusal, or a broken constraint (SQLite undoes the statement), is
                        // undone with its savepoint. Any other failure of the database (a full disk, an I/O
                        // error) may have undone the whole transaction, or left a savepoint that could not be
                        // rolled back: the batch fails together.
                        if let database = error as? DatabaseError, database.resultCode != .SQLITE_CONSTRAINT {
                            throw error
                        }
                        if !db.isInsideTransaction { throw error }
                    }
                }
            }
        } catch {
            // The transaction did not commit: nothing of the batch is stored.
            for index in outcomes.indices {
                if case .success = outcomes[index] { outcomes[index] = .failure(error) }
            }
        }
        return outcomes
    }
}
