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
        var clip = try Data(contentsOf: URL(fileURLWithPath: try TestClips.mp4))
        let padding = 6 << 20
        withUnsafeBytes(of: UInt32(padding + 8).bigEndian) { clip.append(contentsOf: $0) }
        clip.append(Data("free".utf8))
        clip.append(Data(count: padding))
        try h.drop(bytes: [UInt8](clip), as: "full/big.mp4")

        try await waitUntil("/health says why the file waits", timeout: .seconds(30)) {
            let health = try h.request("GET", "/health").object()
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
            try h.assets("full").first?["status"] as? String == "ready"
        }
        #expect(!FileManager.default.fileExists(atPath: h.drop + "/full/big.mp4"))
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
            let health = try h.request("GET", "/health").object()
            return ((health["reasons"] as? [String]) ?? []).contains { $0.contains("drop folder") }
        }
        #expect(h.log.contains("the drop folder is gone"))
        try FileManager.default.createDirectory(atPath: h.drop, withIntermediateDirectories: true)
        try h.drop(try TestClips.mp4, as: "back/a.mp4")
        try await waitUntil("the file in the re-created folder is stored") {
            try h.assets("back").first?["status"] as? String == "ready"
        }
        #expect(try h.request("GET", "/health").object()["status"] as? String == "ok")
        #expect(try await h.stop() == 0)
    }
}
