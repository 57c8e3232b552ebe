import Foundation
import StorageKit
import Testing

@testable import IngestDaemon

/// Issue 10, scenario 9: failed work is retried with back-off and a cap, not every 5 s forever.
struct RetryBackoffTests {
    @Test func delaysDoubleUpToACapThenStop() {
        let backoff = RetryBackoff()
        let path = RawPath("/drop/p/a.mp4")
        var delays: [Duration?] = []
        for _ in 0..<RetryBackoff.maxFailures { delays.append(backoff.failed(path, error: "disk error")) }
        #expect(delays.prefix(4) == [.seconds(5), .seconds(10), .seconds(20), .seconds(40)])
        #expect(delays.dropLast().allSatisfy { $0 != nil && $0! <= RetryBackoff.longestDelay })
        #expect(delays.last! == nil)
        #expect(backoff.waitingReason()?.contains("a.mp4") == true)
        backoff.succeeded(path)
        #expect(backoff.waitingReason() == nil)
        #expect(backoff.failed(path, error: "again") == .seconds(5))
    }

    /// The same file back in the drop after its failure waits out the back-off; another file under the name
    /// is a new candidate at once; a file that failed too often waits for a rescan.
    @Test func theWaitBelongsToTheFileNotToItsName() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        func file(_ name: String, _ text: String) throws -> FileStatus {
            let path = dir.path + "/" + name
            _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
            return try #require(try FileOps.lstat(path))
        }
        let failed = try file("a.mp4", "first")
        let rewritten = try file("b.mp4", "first, longer")
        let another = try file("c.mp4", "third")
        let later = try file("d.mp4", "fourth")
        let backoff = RetryBackoff()
        let path = RawPath("/drop/p/a.mp4")
        let start = ContinuousClock.now
        #expect(backoff.hold(path, status: failed) == .none)
        #expect(backoff.failed(path, error: "EPERM", identity: failed, now: start) == .seconds(5))
        #expect(backoff.hold(path, status: failed) == .until(start + .seconds(5)))
        // Another file under the name is a new candidate, and the old one's back-off ends.
        #expect(backoff.hold(path, status: rewritten) == .none)
        #expect(backoff.hold(path, status: failed) == .none)

        for _ in 0..<RetryBackoff.maxFailures {
            backoff.failed(path, error: "EPERM", identity: another, now: start)
        }
        #expect(backoff.hold(path, status: another) == .givenUp)
        #expect(backoff.waitingReason()?.contains("rescan") == true)
        backoff.retryAllNow(now: start)
        #expect(backoff.hold(path, status: another) == .until(start))
        // A rescan gives one more try; failing again gives up again.
        #expect(backoff.failed(path, error: "EPERM", identity: another, now: start) == nil)
        #expect(backoff.hold(path, status: later) == .none)
    }

    /// Review: a failure whose file could not be seen afterwards (gone, or quarantined) holds no later file
    /// under the name, however often it failed.
    @Test func aFailureWithoutAFileHoldsNothing() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let path = dir.path + "/GOPR0001.MP4"
        _ = FileManager.default.createFile(atPath: path, contents: Data("new".utf8))
        let status = try #require(try FileOps.lstat(path))
        let backoff = RetryBackoff()
        for _ in 0..<RetryBackoff.maxFailures { backoff.failed(RawPath(path), error: "EACCES", identity: nil) }
        #expect(backoff.hold(RawPath(path), status: status) == .none)
        #expect(backoff.waitingReason() == nil)
    }
}
