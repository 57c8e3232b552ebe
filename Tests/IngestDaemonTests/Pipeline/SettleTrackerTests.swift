import Foundation
import Logging
import StorageKit
import Testing

@testable import IngestDaemon

/// The settle rule, one look at a time (`SettleTracker.look`, with the clock and the writer check given), and
/// the tracker as a whole: it hands a candidate over once it is due, without polling.
@Suite(.timeLimit(.minutes(3)))
struct SettleTrackerTests {
    let settle = Duration.milliseconds(500)

    private func look(
        _ dir: TempDir,
        _ due: [RawPath: SettleTracker.Entry],
        minFree: Int64 = 0,
        wallAhead: Duration = .zero,
        writers: WriterCheck.Verdict = .none
    ) -> SettleTracker.Look {
        let now = ContinuousClock.now
        let ahead =
            Int64(wallAhead.components.seconds) * 1_000_000_000 + wallAhead.components.attoseconds / 1_000_000_000
        return SettleTracker.look(
            at: due,
            settle: settle,
            minFreeBytes: minFree,
            storageRoot: dir.path,
            now: now,
            wallNanos: SettleTracker.wallNanos() + ahead,
            writerCheck: { _, _ in writers }
        )
    }

    private func fresh() -> SettleTracker.Entry {
        SettleTracker.Entry(status: nil, seenSince: .now, due: .now)
    }

    private func file(_ dir: TempDir, _ name: String, _ text: String = "data") -> RawPath {
        let path = dir.path + "/" + name
        _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        return RawPath(path)
    }

    @Test func aFileJustWrittenWaitsForTheRestOfTheSettleTime() {
        let dir = TempDir()
        defer { dir.cleanup() }
        let path = file(dir, "a.mp4")
        let look = look(dir, [path: fresh()])
        guard let (decision, entry) = look.decisions[path] else {
            Issue.record("no decision")
            return
        }
        #expect(decision == .wait)
        #expect(entry.status != nil)
        let wait = entry.due - ContinuousClock.now
        #expect(wait > .milliseconds(300) && wait <= settle)
    }

    @Test func aFileUnchangedForTheSettleTimeIsHandedOver() {
        let dir = TempDir()
        defer { dir.cleanup() }
        let path = file(dir, "a.mp4")
        #expect(look(dir, [path: fresh()], wallAhead: .seconds(1)).decisions[path]?.0 == .handOver)
    }

    @Test func aFileWithAWriterWaitsAndIsLookedAtAgain() {
        let dir = TempDir()
        defer { dir.cleanup() }
        let path = file(dir, "a.mp4")
        let result = look(dir, [path: fresh()], wallAhead: .seconds(1), writers: .writing)
        #expect(result.decisions[path]?.0 == .wait)
        #expect(result.writers == .none)
    }

    /// Issue 10: when other users' descriptors cannot be read, the check says so ("unknown") and the file is
    /// taken on the settle time alone; the tracker can then log it.
    @Test func unknownWritersFallBackToTheSettleTimeAndAreReported() {
        let dir = TempDir()
        defer { dir.cleanup() }
        let path = file(dir, "a.mp4")
        let settled = look(dir, [path: fresh()], wallAhead: .seconds(1), writers: .unknown(unreadable: 3))
        #expect(settled.decisions[path]?.0 == .handOver)
        #expect(settled.writers == .unknown(unreadable: 3))
        let unsettled = look(dir, [path: fresh()], writers: .unknown(unreadable: 3))
        #expect(unsettled.decisions[path]?.0 == .wait)
    }

    /// A file whose ingest failed is back in the drop (a new notice to the watcher): it waits out its back-off,
    /// and one given up waits for a rescan.
    @Test func aFileInBackOffWaitsAndAGivenUpOneIsLeft() {
        let dir = TempDir()
        defer { dir.cleanup() }
        let path = file(dir, "a.mp4")
        let next = ContinuousClock.now + .seconds(5)
        let held = SettleTracker.look(
            at: [path: fresh()],
            settle: settle,
            minFreeBytes: 0,
            storageRoot: dir.path,
            wallNanos: SettleTracker.wallNanos() + 1_000_000_000,
            writerCheck: { _, _ in .none },
            hold: { _, _ in .until(next) }
        )
        #expect(held.decisions[path]?.0 == .wait)
        #expect(held.decisions[path]?.1.due == next)
        let givenUp = SettleTracker.look(
            at: [path: fresh()],
            settle: settle,
            minFreeBytes: 0,
            storageRoot: dir.path,
            hold: { _, _ in .givenUp }
        )
        #expect(givenUp.decisions[path]?.0 == .forget)
    }

    @Test func aBrowserDownloadWaitsWhileItsPartFileIsThere() {
        let dir = TempDir()
        defer { dir.cleanup() }
        let path = file(dir, "a.mp4")
        _ = file(dir, "a.mp4.part")
        #expect(look(dir, [path: fresh()], wallAhead: .seconds(1)).decisions[path]?.0 == .wait)
    }

    @Test func goneFilesAndFoldersAreForgottenAndSpecialFilesHandedOverUnread() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let gone = RawPath(dir.path + "/gone.mp4")
        let folder = RawPath(dir.path + "/sub")
        try FileManager.default.createDirectory(atPath: folder.description, withIntermediateDirectories: false)
        let fifo = RawPath(dir.path + "/pipe.mp4")
        #expect(mkfifo(fifo.description, 0o600) == 0)
        let result = look(dir, [gone: fresh(), folder: fresh(), fifo: fresh()])
        #expect(result.decisions[gone]?.0 == .gone)
        #expect(result.decisions[folder]?.0 == .forget)
        #expect(result.decisions[fifo]?.0 == .handOver)
    }

    @Test func everythingWaitsWhileTheStorageIsShortOfSpace() {
        let dir = TempDir()
        defer { dir.cleanup() }
        let path = file(dir, "a.mp4")
        let result = look(dir, [path: fresh()], minFree: .max, wallAhead: .seconds(1))
        #expect(result.decisions[path]?.0 == .wait)
        #expect(result.waitingReason?.contains("MIN_FREE_BYTES") == true)
    }

    /// The tracker sleeps until a candidate is due: a file noted with a delay arrives after the delay, not
    /// before, and one that is settled arrives at once.
    @Test func theTrackerHandsOverWhenDueWithoutPolling() async throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        var config = IngestConfiguration()
        config.settleMS = 0
        config.minFreeBytes = 0
        let queue = WorkQueue<RawPath>()
        let tracker = SettleTracker(
            config: ConfigStore(config),
            queue: queue,
            dropRoot: RawPath(dir.path + "/drop"),
            storageRoot: dir.path,
            blocking: BlockingThreads(count: 1),
            backoff: RetryBackoff(),
            logger: Logger(label: "test")
        )
        let running = Task { await tracker.run() }
        defer { running.cancel() }

        let later = file(dir, "later.mp4")
        let start = ContinuousClock.now
        await tracker.note(later, after: .milliseconds(400))
        let now = file(dir, "now.mp4")
        await tracker.note(now)
        var arrivals: [RawPath: Duration] = [:]
        for _ in 0..<2 {
            let path = try #require(await queue.pop())
            arrivals[path] = ContinuousClock.now - start
        }
        #expect(Set(arrivals.keys) == [now, later])
        // The delayed one never comes early (the other may be late on a loaded machine; it is not timed).
        #expect(arrivals[later]! >= .milliseconds(400))
        #expect(await tracker.count == 0)
        running.cancel()
        await running.value
    }

    /// Issue 11 review: a stop does not wait for a look at the disk in progress (a hung network mount, a large
    /// batch): the watcher's service returns at once, and the ingest drain starts on time. The look's result is
    /// dropped; the files wait in the drop for the next start.
    @Test func aStopDoesNotWaitForALookInProgress() async throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        var config = IngestConfiguration()
        config.settleMS = 0
        config.minFreeBytes = 0
        let blocking = BlockingThreads(count: 1)
        let tracker = SettleTracker(
            config: ConfigStore(config),
            queue: WorkQueue<RawPath>(),
            dropRoot: RawPath(dir.path + "/drop"),
            storageRoot: dir.path,
            blocking: blocking,
            backoff: RetryBackoff(),
            logger: Logger(label: "test")
        )
        // The one blocking thread is held for 10 s: the tracker's look waits behind it, as behind a hung lstat.
        let held = DispatchSemaphore(value: 0)
        let holding = Task { try await blocking.run { _ = held.wait(timeout: .now() + 10) } }
        let running = Task { await tracker.run() }
        await tracker.note(file(dir, "stuck.mp4"))
        try await Task.sleep(for: .milliseconds(200))
        let stop = ContinuousClock.now
        running.cancel()
        await running.value
        #expect(ContinuousClock.now - stop < .seconds(5), "the stop waited for the look")
        held.signal()
        _ = try await holding.value
    }
}
