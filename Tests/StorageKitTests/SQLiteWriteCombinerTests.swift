import Foundation
import GRDB
import Synchronization
import Testing

@testable import StorageKit

/// Writes that wait together share one transaction, and each keeps its own outcome: a failure rolls back only
/// its own savepoint, every caller gets its own value, and nothing returns before its commit.
@Suite(.timeLimit(.minutes(1)))
struct SQLiteWriteCombinerTests {
    private static func database() throws -> (DatabaseQueue, SQLiteWriteCombiner) {
        let queue = try DatabaseQueue()
        try queue.write { try $0.execute(sql: "CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER NOT NULL)") }
        return (queue, SQLiteWriteCombiner(writer: queue))
    }

    private struct Refused: Error {}

    private static func rows(_ queue: DatabaseQueue) throws -> [(key: String, value: Int)] {
        try queue.read { db in
            try Row.fetchAll(db, sql: "SELECT k, v FROM t ORDER BY k").map { ($0["k"], $0["v"]) }
        }
    }

    /// Runs `followers` writes of `work` as one batch: a first write (storing `first`) holds the transaction
    /// until all of them wait. Answers each follower's outcome by index, the first write's at -1.
    private static func batch(
        _ combiner: SQLiteWriteCombiner,
        followers: Int,
        _ work: @escaping @Sendable (Int, Database) throws -> Int
    ) async throws -> [Int: Result<Int, any Error>] {
        let release = DispatchSemaphore(value: 0)
        let outcomes = Mutex<[Int: Result<Int, any Error>]>([:])
        let leaderInside = Atomic<Bool>(false)
        Thread.detachNewThread {
            let value = Result {
                try combiner.write { db -> Int in
                    try db.execute(sql: "INSERT INTO t VALUES ('first', 0)")
                    leaderInside.store(true, ordering: .sequentiallyConsistent)
                    release.wait()
                    return 100
                }
            }
            outcomes.withLock { $0[-1] = value }
        }
        while !leaderInside.load(ordering: .sequentiallyConsistent) { try await Task.sleep(for: .milliseconds(5)) }
        for index in 0..<followers {
            Thread.detachNewThread {
                let value = Result { try combiner.write { db in try work(index, db) } }
                outcomes.withLock { $0[index] = value }
            }
        }
        while combiner.waiting < followers { try await Task.sleep(for: .milliseconds(5)) }
        #expect(outcomes.withLock { $0.isEmpty }, "a follower returned before its transaction committed")
        release.signal()
        while outcomes.withLock({ $0.count }) < followers + 1 { try await Task.sleep(for: .milliseconds(5)) }
        return outcomes.withLock { $0 }
    }

    /// In one batch, one write throws after writing and one breaks a constraint: their rows are not stored, the
    /// others' are, and each caller gets its own value or error.
    @Test func aBatchKeepsEachCallersOutcome() async throws {
        let (queue, combiner) = try Self.database()
        let results = try await Self.batch(combiner, followers: 6) { index, db in
            switch index {
            case 2:
                try db.execute(sql: "INSERT INTO t VALUES ('two', 2)")
                throw Refused()
            case 4:
                try db.execute(sql: "INSERT INTO t VALUES ('first', 4)")  // the first write's key: refused
            default:
                try db.execute(sql: "INSERT INTO t VALUES (?, ?)", arguments: ["k\(index)", index])
            }
            return index * 10
        }
        #expect((try? results[-1]?.get()) == 100)
        for index in [0, 1, 3, 5] { #expect((try? results[index]?.get()) == index * 10) }
        #expect(throws: Refused.self) { try results[2]?.get() }
        #expect(throws: DatabaseError.self) { try results[4]?.get() }
        let rows = try Self.rows(queue)
        #expect(rows.map(\.key) == ["first", "k0", "k1", "k3", "k5"])
        #expect(rows.first?.value == 0)
    }

    /// A failure of the database itself (here a full disk) in one write of a batch fails the whole batch: no
    /// caller is told its rows are stored when the transaction may have been undone under them.
    @Test func aDatabaseFailureInOneWriteFailsTheBatch() async throws {
        let (queue, combiner) = try Self.database()
        let results = try await Self.batch(combiner, followers: 4) { index, db in
            try db.execute(sql: "INSERT INTO t VALUES (?, ?)", arguments: ["k\(index)", index])
            if index == 2 { throw DatabaseError(resultCode: .SQLITE_FULL) }
            return index
        }
        #expect((try? results[-1]?.get()) == 100)
        for index in 0..<4 {
            #expect(throws: DatabaseError.self, "write \(index)") { try results[index]?.get() }
        }
        #expect(try Self.rows(queue).map(\.key) == ["first"])
    }

    /// A lone caller's transaction is its own: a throw rolls back all it wrote.
    @Test func aLoneWriteThatThrowsStoresNothing() throws {
        let (queue, combiner) = try Self.database()
        #expect(throws: Refused.self) {
            try combiner.write { db in
                try db.execute(sql: "INSERT INTO t VALUES ('a', 1)")
                throw Refused()
            }
        }
        #expect(
            try combiner.write { db in
                try db.execute(sql: "INSERT INTO t VALUES ('b', 2)")
                return 7
            } == 7
        )
        #expect(try Self.rows(queue).map(\.key) == ["b"])
    }

    /// Many threads writing at once: every row is stored once, and every caller returns.
    @Test func concurrentWritersAllCommit() async throws {
        let (queue, combiner) = try Self.database()
        await withTaskGroup(of: Void.self) { group in
            for thread in 0..<8 {
                group.addTask {
                    await withCheckedContinuation { done in
                        Thread.detachNewThread {
                            for index in 0..<200 {
                                _ = try? combiner.write { db in
                                    try db.execute(
                                        sql: "INSERT INTO t VALUES (?, ?)",
                                        arguments: ["\(thread)-\(index)", index]
                                    )
                                }
                            }
                            done.resume()
                        }
                    }
                }
            }
        }
        #expect(try Self.rows(queue).count == 1_600)
    }
}
