import Foundation
import Testing

@testable import StorageKit

/// The `flock` that keeps a second daemon off one storage (SQLite) or one `NODE_ID` (PostgreSQL).
@Suite(.timeLimit(.minutes(1)))
struct StorageLockTests {
    @Test func aSecondHolderIsRefusedNamingTheFirst() throws {
        let dir = try TempDir("lock")
        defer { dir.remove() }
        let layout = StorageLayout(root: dir.path)
        let first = try StorageLock.acquire(.storage, in: layout, holder: "held by ingestd pid 42")
        let refusal = #expect(throws: StorageError.self) {
            _ = try StorageLock.acquire(.storage, in: layout, holder: "second")
        }
        #expect(refusal?.code == .conflict)
        #expect(refusal?.message.contains("STORAGE_PATH=\(layout.root) is in use by another ingestd") == true)
        #expect(refusal?.message.contains("held by ingestd pid 42") == true)
        // Another node's id is another lock.
        let other = try StorageLock.acquire(.node("node-b"), in: layout, holder: "node-b")
        #expect(throws: StorageError.self) { _ = try StorageLock.acquire(.node("node-b"), in: layout, holder: "x") }
        withExtendedLifetime((first, other)) {}
    }

    @Test func aLockIsFreeOnceItsHolderIsGone() throws {
        let dir = try TempDir("lock")
        defer { dir.remove() }
        let layout = StorageLayout(root: dir.path)
        do {
            let held = try StorageLock.acquire(.node("n1"), in: layout, holder: "n1")
            #expect(StorageLock.takeOver(node: "n1", in: layout, note: "n2") == nil)
            withExtendedLifetime(held) {}
        }
        #expect(StorageLock.nodes(in: layout) == ["n1"])
        do {
            let taken = try #require(StorageLock.takeOver(node: "n1", in: layout, note: "node n2"))
            #expect(taken.note == "being taken over by node n2")
            withExtendedLifetime(taken) {}
        }
        _ = try StorageLock.acquire(.node("n1"), in: layout, holder: "n1 again")
    }

    @Test func aStartWaitsForATakeOverToEnd() throws {
        let dir = try TempDir("lock")
        defer { dir.remove() }
        let layout = StorageLayout(root: dir.path)
        _ = try StorageLock.acquire(.node("n1"), in: layout, holder: "n1")
        final class Holder: @unchecked Sendable { var lock: StorageLock? }
        let holder = Holder()
        holder.lock = StorageLock.takeOver(node: "n1", in: layout, note: "n2")
        try #require(holder.lock != nil)
        let released = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            Thread.sleep(forTimeInterval: 0.5)
            holder.lock = nil
            released.signal()
        }
        let started = ContinuousClock.now
        let lock = try StorageLock.acquire(.node("n1"), in: layout, holder: "n1 restarted")
        #expect(ContinuousClock.now - started >= .milliseconds(300))
        #expect(lock.note == "n1 restarted")
        released.wait()
    }
}

/// A storage filesystem without file locks (some NFS mounts, FUSE): the daemon starts without the guard, saying
/// so, instead of exiting 1 and being restarted forever by systemd (review: it started before the lock existed).
struct StorageLockWithoutFileLocksTests {
    @Test(arguments: [ENOLCK, EOPNOTSUPP, ENOSYS])
    func noFileLocksGiveALockThatSaysWhy(_ code: Int32) throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("nolocks-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let layout = StorageLayout(root: root)
        let lock = try StorageLock.acquire(.storage, in: layout, holder: "test") { _, _ in
            errno = code
            return -1
        }
        #expect(lock.unsupported == String(cString: strerror(code)))
        // A real failure is still one.
        #expect(throws: StorageError.self) {
            _ = try StorageLock.acquire(.storage, in: layout, holder: "test") { _, _ in
                errno = EBADF
                return -1
            }
        }
    }
}
