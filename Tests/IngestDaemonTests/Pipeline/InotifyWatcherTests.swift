import Foundation
import Logging
import StorageKit
import Testing

@testable import IngestDaemon

/// The watcher alone: the start-up scan, files moved or written into the drop, a folder made later (watched,
/// and scanned for files that landed before its watch), and the end of the stream at `stop()`.
@Suite(.timeLimit(.minutes(3)))
struct InotifyWatcherTests {
    /// Collects events until `done` says enough, or 10 s pass.
    private func collect(
        _ watcher: InotifyWatcher,
        until done: @escaping @Sendable ([WatchEvent]) -> Bool
    ) async -> [WatchEvent] {
        let events = watcher.events
        return await withTaskGroup(of: [WatchEvent]?.self) { group in
            group.addTask {
                var seen: [WatchEvent] = []
                for await event in events {
                    seen.append(event)
                    if done(seen) { return seen }
                }
                return seen
            }
            group.addTask {
                try? await Task.sleep(for: .seconds(10))
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first ?? []
        }
    }

    private static func candidates(_ events: [WatchEvent]) -> Set<String> {
        Set(events.compactMap { if case .candidate(let p) = $0 { p.description } else { nil } })
    }

    @Test func theStartScanThenNewFilesAndNewFoldersAreReported() async throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let drop = dir.path + "/drop"
        try FileManager.default.createDirectory(atPath: drop + "/p", withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: drop + "/p/before.mp4", contents: Data("x".utf8))
        let watcher = try InotifyWatcher(root: drop, logger: Logger(label: "test"))
        watcher.start()
        defer { watcher.stop() }

        let scanned = await collect(watcher) { events in
            events.contains { if case .scanFinished = $0 { true } else { false } }
        }
        #expect(Self.candidates(scanned).contains(drop + "/p/before.mp4"))

        // A file renamed in, one written in place, and a folder made with a file already inside it.
        _ = FileManager.default.createFile(atPath: dir.path + "/moved.mp4", contents: Data("m".utf8))
        #expect(rename(dir.path + "/moved.mp4", drop + "/p/moved.mp4") == 0)
        _ = FileManager.default.createFile(atPath: drop + "/p/written.mp4", contents: Data("w".utf8))
        try FileManager.default.createDirectory(atPath: dir.path + "/q", withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: dir.path + "/q/inside.mp4", contents: Data("i".utf8))
        #expect(rename(dir.path + "/q", drop + "/q") == 0)
        let wanted: Set<String> = [drop + "/p/moved.mp4", drop + "/p/written.mp4", drop + "/q/inside.mp4"]
        let later = await collect(watcher) { wanted.isSubset(of: Self.candidates($0)) }
        #expect(wanted.isSubset(of: Self.candidates(later)))
    }

    /// Audit of 2026-12-07: a hidden or temporary folder is neither scanned nor watched; renamed to a plain
    /// name, its files are reported.
    @Test func hiddenAndTemporaryFoldersAreLeftAloneUntilRenamed() async throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let drop = dir.path + "/drop"
        for folder in ["/p/.rsync-partial", "/p/later.tmp", "/.git/objects"] {
            try FileManager.default.createDirectory(atPath: drop + folder, withIntermediateDirectories: true)
        }
        _ = FileManager.default.createFile(atPath: drop + "/p/.rsync-partial/a.mp4", contents: Data("a".utf8))
        _ = FileManager.default.createFile(atPath: drop + "/.git/objects/b.mp4", contents: Data("b".utf8))
        _ = FileManager.default.createFile(atPath: drop + "/p/seen.mp4", contents: Data("s".utf8))
        let watcher = try InotifyWatcher(root: drop, logger: Logger(label: "test"))
        watcher.start()
        defer { watcher.stop() }
        let scanned = await collect(watcher) { events in
            events.contains { if case .scanFinished = $0 { true } else { false } }
        }
        #expect(Self.candidates(scanned) == [drop + "/p/seen.mp4"])

        // Written into the unwatched folder: nothing. The folder renamed to a plain name: scanned.
        _ = FileManager.default.createFile(atPath: drop + "/p/later.tmp/c.mp4", contents: Data("c".utf8))
        #expect(rename(drop + "/p/later.tmp", drop + "/p/later") == 0)
        let later = await collect(watcher) { Self.candidates($0).contains(drop + "/p/later/c.mp4") }
        #expect(Self.candidates(later) == [drop + "/p/later/c.mp4"])
    }

    /// Audit of 2026-12-08: the drop folder renamed away is missing (its watches go with it: a file written
    /// into the renamed folder is not reported under the drop's path), and a folder made again at the path is
    /// watched and scanned.
    @Test func theDropFolderRenamedAwayIsMissingUntilMadeAgain() async throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let drop = dir.path + "/drop"
        try FileManager.default.createDirectory(atPath: drop + "/p", withIntermediateDirectories: true)
        let watcher = try InotifyWatcher(root: drop, logger: Logger(label: "test"))
        watcher.start()
        defer { watcher.stop() }
        _ = await collect(watcher) { events in
            events.contains { if case .scanFinished = $0 { true } else { false } }
        }

        #expect(rename(drop, dir.path + "/old") == 0)
        let deadline = ContinuousClock.now + .seconds(10)
        while !watcher.dropMissing, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        #expect(watcher.dropMissing)
        _ = FileManager.default.createFile(atPath: dir.path + "/old/p/stale.mp4", contents: Data("s".utf8))

        try FileManager.default.createDirectory(atPath: drop + "/q", withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: drop + "/q/new.mp4", contents: Data("n".utf8))
        let later = await collect(watcher) { Self.candidates($0).contains(drop + "/q/new.mp4") }
        #expect(Self.candidates(later) == [drop + "/q/new.mp4"])
        #expect(!watcher.dropMissing)
    }

    @Test func stopEndsTheStream() async throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let watcher = try InotifyWatcher(root: dir.path, logger: Logger(label: "test"))
        watcher.start()
        watcher.stop()
        let ended = await withTimeLimit(.seconds(10)) {
            for await _ in watcher.events {}
        }
        #expect(ended)
    }

    /// Issue 11 review: the thread closed its wake-up descriptor when it ended, and a later `stop()` (the watcher
    /// and the ingest drain both stop taking files) or `requestRescan()` wrote 8 bytes to that descriptor
    /// number, by then perhaps a staged upload or a client's socket. The descriptor now lives as long as the
    /// watcher.
    @Test func stopAndRescanAfterTheThreadEndedWriteNowhere() async throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let watcher = try InotifyWatcher(root: dir.path, logger: Logger(label: "test"))
        watcher.start()
        watcher.stop()
        #expect(await withTimeLimit(.seconds(10)) { for await _ in watcher.events {} })
        #expect(fcntl(watcher.wakeFD, F_GETFD) != -1, "the wake-up descriptor was closed while the watcher lives")
        // The lowest free descriptor numbers, the wake-up descriptor's had it been closed: a socket pair, so
        // that whichever end takes the number, what is written to it arrives at the other.
        var ends: [Int32] = [0, 0]
        #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0, &ends) == 0)
        defer {
            close(ends[0])
            close(ends[1])
        }
        watcher.stop()
        watcher.requestRescan()
        var bytes = [UInt8](repeating: 0, count: 16)
        for end in ends {
            #expect(read(end, &bytes, 16) == -1, "bytes written into a descriptor the watcher no longer owned")
        }
    }
}
