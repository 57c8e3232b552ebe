import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Issue 10: the failure windows found under attack, each driven from outside through the built daemon.
@Suite(.timeLimit(.minutes(4)))
struct HardeningEndToEndTests {
    /// Scenario 2: an upload named like an internal temporary file is refused, listed, and survives restarts.
    @Test func anUploadNamedLikeAnInternalTemporaryIsKeptAcrossRestarts() async throws {
        let h = try DaemonHarness()
        defer { h.remove() }
        try await h.start()
        let junk = h.root + "/junk.mp4"
        try Data(repeating: 0x41, count: 4096).write(to: URL(fileURLWithPath: junk))
        let up = try await h.request("POST", "/projects/up/videos?filename=.ingestd-tmp-a.mp4", body: junk)
        #expect(up.status == 422)
        let listed = try await h.request("GET", "/projects/up/rejected").array()
        #expect(listed.count == 1)
        let name = try #require(listed.first?["name"] as? String)
        #expect(!name.hasPrefix("."))
        #expect(try await h.stop() == 0)
        try await h.start()
        #expect(h.files(in: "storage/rejected/project_up").contains(name))
        #expect(try await h.request("GET", "/projects/up/rejected").array().count == 1)
        #expect(try await h.stop() == 0)
    }

    /// Scenario 2: whatever sits in `rejected/` under a temporary-looking name (from an older version) stays.
    @Test func startUpNeverRemovesAUsersFileFromRejected() async throws {
        let h = try DaemonHarness()
        defer { h.remove() }
        try await h.start()
        #expect(try await h.stop() == 0)
        let folder = h.storage + "/rejected/project_up"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try Data("mine".utf8).write(to: URL(fileURLWithPath: folder + "/.ingestd-tmp-a.mp4"))
        try await h.start()
        #expect(try await h.stop() == 0)
        #expect(FileManager.default.fileExists(atPath: folder + "/.ingestd-tmp-a.mp4"))
    }

    /// Scenario 10: uploads respect `MIN_FREE_BYTES` as dropped files do.
    @Test func anUploadIsRefusedWhenTheStorageIsFull() async throws {
        let h = try DaemonHarness(environment: ["MIN_FREE_BYTES": "\(Int64.max / 2)"])
        defer { h.remove() }
        try await h.start()
        let clip = try await TestClips.mp4
        let up = try await h.request("POST", "/projects/full/videos?filename=a.mp4", body: clip)
        #expect(up.status == 507)
        #expect(try up.object()["error"] as? String == "storage_full")
        #expect(h.files(in: "storage/uploads").isEmpty)
        #expect(h.files(in: "storage/.staging").isEmpty)
        #expect(try await h.request("GET", "/health").object()["status"] as? String == "degraded")
        #expect(try await h.stop() == 0)
    }

    /// Audit of 2026-12-07: "ignored until renamed" holds for folders too. Files below a hidden folder (rsync's
    /// `--partial-dir=.rsync-partial`, `.git`, a desktop's `.Trash-0`) or a temporary one (`incoming.tmp`) were
    /// taken: a partial rsync file was rejected as `truncated` (rsync could not resume it) and `.hidden` became a
    /// project. They stay where they are until they are renamed into a plain folder.
    @Test func filesBelowHiddenOrTemporaryFoldersWaitUntilRenamedOut() async throws {
        let h = try DaemonHarness()
        defer { h.remove() }
        try await h.start()
        let clips = try await TestClips.distinctMP4s(2, into: h.root + "/clips")
        let clip = clips[0]
        let partial = [UInt8](try Data(contentsOf: URL(fileURLWithPath: clip)).prefix(60_000))
        try h.drop(bytes: partial, as: "p/.rsync-partial/clip.mp4")
        try h.drop(clip, as: "p/.git/objects/x.mp4")
        try h.drop(clip, as: ".hidden/h.mp4")
        try h.drop(clips[1], as: "p/incoming.tmp/y.mp4")
        try await Task.sleep(for: .milliseconds(1500))
        #expect(try await h.request("POST", "/rescan").status == 202)
        try await Task.sleep(for: .milliseconds(1500))
        for left in ["p/.rsync-partial/clip.mp4", "p/.git/objects/x.mp4", ".hidden/h.mp4", "p/incoming.tmp/y.mp4"] {
            #expect(FileManager.default.fileExists(atPath: h.drop + "/" + left), "\(left) was taken")
        }
        #expect(h.files(in: "storage/rejected").isEmpty)
        #expect(h.files(in: "storage/uploads").isEmpty)

        // rsync renames the finished file into place; a folder is renamed once it is complete.
        try h.drop(bytes: [UInt8](try Data(contentsOf: URL(fileURLWithPath: clip))), as: "p/.rsync-partial/clip.mp4")
        #expect(rename(h.drop + "/p/.rsync-partial/clip.mp4", h.drop + "/p/clip.mp4") == 0)
        #expect(rename(h.drop + "/p/incoming.tmp", h.drop + "/p/incoming") == 0)
        try await waitUntil("both files are stored") { try await h.assets("p").count == 2 }
        #expect(FileManager.default.fileExists(atPath: h.drop + "/p/.git/objects/x.mp4"))
        #expect(FileManager.default.fileExists(atPath: h.drop + "/.hidden/h.mp4"))
        #expect(try await h.stop() == 0)
    }

    /// Audit of 2026-12-07: a rejected file keeps its own name even when it is not UTF-8 (it was stored as
    /// `rej\u{FFFD}.txt`), is listed as text, and goes back through the pipeline by that text.
    @Test func aRejectedNameThatIsNotUTF8IsKeptAndRetried() async throws {
        let h = try DaemonHarness()
        defer { h.remove() }
        try await h.start()
        try FileManager.default.createDirectory(atPath: h.drop + "/nu", withIntermediateDirectories: true)
        let name: [UInt8] = Array("rej".utf8) + [0xFE] + Array(".txt".utf8)
        let source: [CChar] = Array((h.drop + "/nu/").utf8CString.dropLast()) + name.map { CChar(bitPattern: $0) } + [0]
        let fd = open(source, O_CREAT | O_WRONLY | O_EXCL, 0o644)
        #expect(fd >= 0)
        _ = write(fd, "not a video", 11)
        close(fd)
        let stored: [CChar] =
            Array((h.storage + "/rejected/project_nu/").utf8CString.dropLast()) + name.map { CChar(bitPattern: $0) } + [
                0
            ]
        try await waitUntil("the file is rejected under its own bytes") {
            var info = stat()
            return lstat(stored, &info) == 0
        }
        let listed = try await h.request("GET", "/projects/nu/rejected").array()
        #expect(listed.first?["name"] as? String == "rej\u{FFFD}.txt")
        #expect(listed.first?["reason"] as? String == "extension_not_allowed")
        let retry = try await h.request("POST", "/projects/nu/rejected/rej%EF%BF%BD.txt/retry")
        #expect(retry.status == 202)
        #expect(try await h.stop() == 0)
    }
}
