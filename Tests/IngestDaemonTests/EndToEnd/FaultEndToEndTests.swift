import Foundation
import Testing

#if canImport(Glibc)
import Glibc
import TestSupport
#endif

/// Issue 10, faults: storage full on a small filesystem the test mounts (skipped with a message where it
/// cannot mount): the daemon stays up, the file that did not fit stays in the drop, `/health` says why, nothing
/// half-written remains, and the file is taken once space is freed.
@Suite(.timeLimit(.minutes(4)))
struct FaultEndToEndTests {
    @Test func aFullStorageFilesystemKeepsTheFileInTheDropUntilSpaceIsFreed() async throws {
        let h = try DaemonHarness()
        defer { h.remove() }
        try FileManager.default.createDirectory(atPath: h.storage, withIntermediateDirectories: true)
        guard Self.run("/bin/mount", ["-t", "tmpfs", "-o", "size=3m", "tmpfs", h.storage]) else {
            print("FaultEndToEndTests: skipped, cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN)")
            return
        }
        defer { _ = Self.run("/bin/umount", ["-l", h.storage]) }
        try await h.start()

        // A valid MP4 padded with a 6 MiB `free` box: larger than the whole storage filesystem.
        var clip = try Data(contentsOf: URL(fileURLWithPath: try await TestClips.mp4))
        let padding = 6 << 20
        withUnsafeBytes(of: UInt32(padding + 8).bigEndian) { clip.append(contentsOf: $0) }
        clip.append(Data("free".utf8))
        clip.append(Data(count: padding))
        try h.drop(bytes: [UInt8](clip), as: "full/big.mp4")

        try await waitUntil("/health says why the file waits", timeout: .seconds(30)) {
            let health = try await h.request("GET", "/health").object()
            return health["status"] as? String == "degraded"
                && ((health["reasons"] as? [String]) ?? []).contains { $0.contains("big.mp4") }
        }
        #expect(h.process?.isRunning == true)
        #expect(FileManager.default.fileExists(atPath: h.drop + "/full/big.mp4"))
        // A retry may be copying at this instant (it is journalled); what matters is that none is left behind.
        try await waitUntil("no half-written staging file is left", timeout: .seconds(10)) {
            h.files(in: "storage/.staging").isEmpty
        }
        #expect(h.files(in: "storage/uploads").isEmpty)

        // Space is freed: the file is taken on its next try.
        #expect(Self.run("/bin/mount", ["-o", "remount,size=64m", h.storage]))
        try await waitUntil("the file is stored once space is freed", timeout: .seconds(40)) {
            try await h.assets("full").first?["status"] as? String == "ready"
        }
        #expect(!FileManager.default.fileExists(atPath: h.drop + "/full/big.mp4"))
        #expect(try await h.stop() == 0)
    }

    /// A storage folder the daemon cannot write (made immutable, which binds root too): the file stays in the
    /// drop and is tried again with back-off — not every `SETTLE_MS` because the rollback's return to the drop
    /// looks like a new file to the watcher — `/health` says why, and after the cause is fixed a rescan takes it.
    @Test func aStorageFolderThatCannotBeWrittenIsRetriedWithBackOff() async throws {
        let h = try DaemonHarness()
        defer { h.remove() }
        try await h.start()
        let folder = h.storage + "/uploads/project_locked"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        guard Self.run("/usr/bin/chattr", ["+i", folder]) else {
            print("FaultEndToEndTests: skipped, chattr +i is not available on this filesystem")
            return
        }
        defer { _ = Self.run("/usr/bin/chattr", ["-i", folder]) }
        try h.drop(try await TestClips.mp4, as: "locked/a.mp4")
        try await waitUntil("/health says why the file waits") {
            let reasons = (try await h.request("GET", "/health").object()["reasons"] as? [String]) ?? []
            return reasons.contains { $0.contains("a.mp4") && $0.contains("not permitted") }
        }
        try await Task.sleep(for: .seconds(3))
        // One line per try (the user's sentence); the log's timestamps show the pause between tries.
        let tries = h.log.components(separatedBy: "\n").filter { $0.contains("locked/a.mp4 could not be ingested") }
        let times = tries.compactMap { line in
            line.split(separator: " ").first.flatMap {
                try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(String($0))
            }
        }
        #expect(times.count == tries.count && !times.isEmpty)
        for (a, b) in zip(times, times.dropFirst()) {
            // The first retry is 5 s after the failure; without the back-off it came every SETTLE_MS.
            #expect(b.timeIntervalSince(a) >= 4.5, "tries \(b.timeIntervalSince(a)) s apart: \(tries)")
        }
        #expect(FileManager.default.fileExists(atPath: h.drop + "/locked/a.mp4"))
        #expect(h.files(in: "storage/.staging").isEmpty)

        #expect(Self.run("/usr/bin/chattr", ["-i", folder]))
        #expect(try await h.request("POST", "/rescan").status == 202)
        try await waitUntil("the file is stored after the fix and a rescan", timeout: .seconds(30)) {
            try await h.assets("locked").first?["status"] as? String == "ready"
        }
        #expect(try await h.stop() == 0)
    }

    /// The catalog's files made immutable while running: ingest fails before anything moves, files wait in the
    /// drop, `/health` is degraded, and ingest resumes by itself once the catalog can be written again.
    @Test func aCatalogThatCannotBeWrittenKeepsFilesInTheDropUntilItCan() async throws {
        let h = try DaemonHarness()
        defer { h.remove() }
        try await h.start()
        try h.drop(try await TestClips.mp4, as: "ro/first.mp4")
        try await waitUntil("the first file is stored") {
            try await h.assets("ro").first?["status"] as? String == "ready"
        }
        // The database and its log; not `-shm`, which SQLite maps into memory: a write to a mapped page of an
        // immutable file is a SIGBUS, not an error (as on a filesystem that turned read-only; see the README).
        let catalogFiles = ["", "-wal"].map { h.storage + "/metadata/catalog.sqlite" + $0 }
        guard Self.run("/usr/bin/chattr", ["+i"] + catalogFiles) else {
            print("FaultEndToEndTests: skipped, chattr +i is not available on this filesystem")
            return
        }
        defer { _ = Self.run("/usr/bin/chattr", ["-i"] + catalogFiles) }
        try h.drop(try await TestClips.mov, as: "ro/second.mov")
        try await waitUntil("/health is degraded and names the file") {
            let health = try await h.request("GET", "/health").object()
            return health["status"] as? String == "degraded"
                && ((health["reasons"] as? [String]) ?? []).contains { $0.contains("second.mov") }
        }
        #expect(h.process?.isRunning == true)
        #expect(FileManager.default.fileExists(atPath: h.drop + "/ro/second.mov"))
        #expect(h.files(in: "storage/.staging").isEmpty)
        #expect(Self.run("/usr/bin/chattr", ["-i"] + catalogFiles))
        try await waitUntil("ingest resumes by itself", timeout: .seconds(30)) {
            try await h.assets("ro").count == 2
        }
        #expect(try await h.stop() == 0)
    }

    static func run(_ tool: String, _ arguments: [String]) -> Bool {
        (try? Program.runBlocking(tool, arguments, timeout: .seconds(30)).status) == 0
    }

    /// The drop folder deleted and re-created while running: a log line, `/health` degraded, and files put
    /// into the new folder are taken.
    @Test func aDropFolderDeletedAndRecreatedIsWatchedAgain() async throws {
        let h = try DaemonHarness()
        defer { h.remove() }
        try await h.start()
        try FileManager.default.removeItem(atPath: h.drop)
        try await waitUntil("/health says the drop folder is missing") {
            let health = try await h.request("GET", "/health").object()
            return ((health["reasons"] as? [String]) ?? []).contains { $0.contains("drop folder") }
        }
        #expect(h.log.contains("the drop folder is gone"))
        try FileManager.default.createDirectory(atPath: h.drop, withIntermediateDirectories: true)
        try h.drop(try await TestClips.mp4, as: "back/a.mp4")
        try await waitUntil("the file in the re-created folder is stored") {
            try await h.assets("back").first?["status"] as? String == "ready"
        }
        #expect(try await h.request("GET", "/health").object()["status"] as? String == "ok")
        #expect(try await h.stop() == 0)
    }

    /// Audit: the drop folder renamed away (`mv drop drop.old`) and a new one made at its path. The watch
    /// followed the old folder, so files put into the new one waited forever while `/health` said ok. Now the
    /// rename is seen as the folder going: a log line, `/health` degraded, the new folder watched and scanned.
    /// What is in the renamed folder is no longer the drop's and is left alone.
    @Test func aDropFolderRenamedAwayAndMadeAgainIsWatchedAgain() async throws {
        let h = try DaemonHarness()
        defer { h.remove() }
        try await h.start()
        let old = h.drop + ".old"
        defer { try? FileManager.default.removeItem(atPath: old) }
        try FileManager.default.moveItem(atPath: h.drop, toPath: old)
        try await waitUntil("/health says the drop folder is missing") {
            let health = try await h.request("GET", "/health").object()
            return ((health["reasons"] as? [String]) ?? []).contains { $0.contains("drop folder") }
        }
        #expect(h.log.contains("the drop folder is gone"))
        let clip = try await TestClips.mp4
        try FileManager.default.createDirectory(atPath: old + "/gone", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: clip, toPath: old + "/gone/left.mp4")
        try FileManager.default.createDirectory(atPath: h.drop, withIntermediateDirectories: true)
        try h.drop(clip, as: "back/a.mp4")
        try await waitUntil("the file in the new drop folder is stored") {
            try await h.assets("back").first?["status"] as? String == "ready"
        }
        #expect(try await h.request("GET", "/health").object()["status"] as? String == "ok")
        #expect(FileManager.default.fileExists(atPath: old + "/gone/left.mp4"))
        #expect(try await h.assets("gone").isEmpty)
        #expect(try await h.stop() == 0)
    }
}
