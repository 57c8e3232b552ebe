import Foundation
import Logging
import ServiceLifecycle
import ServiceLifecycleTestKit
import StorageKit
import Synchronization
import Testing

@testable import IngestDaemon

/// The pipeline's services, each alone under a test's graceful shutdown: it runs until told, then does its part
/// of the stop, in the order `DaemonRunner` stops them (watcher, ingest, job workers, event feed).
@Suite(.timeLimit(.minutes(3)))
struct PipelineServiceTests {
    /// A job worker that records its calls; its `run()` ends only once `stop()` was called.
    final class RecordingWorker: JobWorker {
        let calls = Mutex<[String]>([])
        let started = Latch()
        let stopped = Latch()

        func run() async {
            calls.withLock { $0.append("run") }
            started.open()
            await stopped.wait()
            calls.withLock { $0.append("ended") }
        }

        func stop() async {
            calls.withLock { $0.append("stop") }
            stopped.open()
        }
    }

    @Test func jobWorkersRunUntilShutdownThenAreStoppedTogetherAndWaitedFor() async throws {
        let thumbnails = RecordingWorker()
        let renditions = RecordingWorker()
        try await testGracefulShutdown { trigger in
            let running = Task { try await JobWorkerService(workers: [thumbnails, renditions]).run() }
            await thumbnails.started.wait()
            await renditions.started.wait()
            try await Task.sleep(for: .milliseconds(50))
            #expect(thumbnails.calls.withLock { $0 } == ["run"], "stopped before any shutdown")
            trigger.triggerGracefulShutdown()
            try await running.value
        }
        #expect(thumbnails.calls.withLock { $0 } == ["run", "stop", "ended"])
        #expect(renditions.calls.withLock { $0 } == ["run", "stop", "ended"])
    }

    /// A worker whose stop waits (up to 10 s) until every worker of its group is stopping, and notes whether
    /// they all were: stops made one after the other never are.
    final class MeetingWorker: JobWorker {
        /// How many workers of the group are stopping.
        final class Count: Sendable { let value = Mutex(0) }
        let stopping: Count
        let group: Int
        let metTheOthers = Mutex(false)
        let stopped = Latch()
        init(group: Int, stopping: Count) {
            self.group = group
            self.stopping = stopping
        }
        func run() async { await stopped.wait() }
        func stop() async {
            stopping.value.withLock { $0 += 1 }
            let deadline = ContinuousClock.now + .seconds(10)
            while stopping.value.withLock({ $0 }) < group, ContinuousClock.now < deadline {
                try? await Task.sleep(for: .milliseconds(10))
            }
            let met = stopping.value.withLock { $0 } >= group
            metTheOthers.withLock { $0 = met }
            stopped.open()
        }
    }

    /// Each may wait up to 3 s for a decoder; a second stop signal leaves 3 s in all.
    @Test func jobWorkersAreStoppedAtTheSameTimeNotOneAfterTheOther() async throws {
        let stopping = MeetingWorker.Count()
        let workers = [MeetingWorker(group: 2, stopping: stopping), MeetingWorker(group: 2, stopping: stopping)]
        try await testGracefulShutdown { trigger in
            let running = Task { try await JobWorkerService(workers: workers).run() }
            trigger.triggerGracefulShutdown()
            try await running.value
        }
        #expect(workers.allSatisfy { $0.metTheOthers.withLock { $0 } })
    }

    @Test func theWatcherStopsTakingFilesAtShutdown() async throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let daemon = try Daemon(context: try DaemonContext.forTests(in: dir, nodeID: "n1"))
        daemon.watcher.start()
        try await testGracefulShutdown { trigger in
            let running = Task { try await WatcherService(daemon: daemon).run() }
            try await Task.sleep(for: .milliseconds(100))
            #expect(await !daemon.ingestQueue.isClosed)
            trigger.triggerGracefulShutdown()
            try await running.value
        }
        #expect(await daemon.ingestQueue.isClosed)
        // A notice after the stop is not queued: the file waits in the drop for the next start.
        await daemon.ingestQueue.push(RawPath(dir.path + "/drop/late.mp4"))
        #expect(await daemon.ingestQueue.depth == 0)
    }

    @Test func ingestFinishesTheFilesInFlightBeforeItEnds() async throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let context = try DaemonContext.forTests(in: dir, nodeID: "n1")
        let daemon = try Daemon(context: context)
        let dropped = dir.path + "/drop/notes.mp4"
        #expect(FileManager.default.createFile(atPath: dropped, contents: Data(repeating: 7, count: 4096)))
        let service = IngestService(
            daemon: daemon,
            grace: .seconds(60),
            cutShort: Latch(),
            logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
        )
        try await testGracefulShutdown { trigger in
            let running = Task { try await service.run() }
            #expect(await daemon.ingestQueue.push(RawPath(dropped)))
            trigger.triggerGracefulShutdown()
            try await running.value
        }
        // Taken before the stop, so finished by it: not media, rejected with its reason.
        #expect(!FileManager.default.fileExists(atPath: dropped))
        let rejected = context.layout.categoryPath(.rejected) + "/project_default/notes.mp4"
        #expect(FileManager.default.fileExists(atPath: rejected))
        #expect(await daemon.ingestQueue.isIdle)
    }

    @Test func theEventFeedEndsItsFollowersAtShutdown() async throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let context = try DaemonContext.forTests(in: dir, nodeID: "n1")
        let stream = try await context.events.subscribe(since: nil)
        let follower = Task {
            var lines = 0
            for await _ in stream { lines += 1 }
            return lines
        }
        try await testGracefulShutdown { trigger in
            let running = Task { try await EventFeedService(events: context.events).run() }
            try await Task.sleep(for: .milliseconds(100))
            trigger.triggerGracefulShutdown()
            try await running.value
        }
        #expect(await follower.value == 0)
    }
}
