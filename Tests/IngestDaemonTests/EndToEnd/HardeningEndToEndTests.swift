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
}
