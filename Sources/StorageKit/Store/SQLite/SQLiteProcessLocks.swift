import Foundation
import Synchronization

/// The advisory locks of SQLite catalogs (`CatalogBackend.withAdvisoryLock`): SQLite has one node, so a lock
/// only has to keep this process's own users of one database apart. Kept per opened database and key: a count
/// of sharers, or `-1` while one holds it alone.
enum SQLiteProcessLocks {
    private struct Key: Hashable {
        let database: ObjectIdentifier
        let key: Int64
    }

    private static let held = Mutex<[Key: Int]>([:])

    /// Runs `body` holding lock `key` of `database`: shared (waiting while someone holds it alone), or alone
    /// when free (`nil` without running `body` otherwise).
    static func holding<T>(
        _ database: ObjectIdentifier,
        _ key: Int64,
        shared: Bool,
        _ body: () throws -> T
    ) rethrows -> T? {
        let lock = Key(database: database, key: key)
        if shared {
            while !held.withLock({ held in
                guard held[lock, default: 0] >= 0 else { return false }
                held[lock, default: 0] += 1
                return true
            }) {
                Thread.sleep(forTimeInterval: 0.01)
            }
        } else {
            let taken = held.withLock { held in
                guard held[lock] == nil else { return false }
                held[lock] = -1
                return true
            }
            guard taken else { return nil }
        }
        defer {
            held.withLock { held in
                let left = shared ? held[lock, default: 1] - 1 : 0
                held[lock] = left == 0 ? nil : left
            }
        }
        return try body()
    }
}
