import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Audit of 2026-12: `DELETE /projects/{id}/storage` killed (SIGKILL) once the project's records were gone left
/// its files behind, and `repair` would have recorded them again. The next start finishes the purge by itself.
/// `INGESTD_DEBUG_PURGE_HOLD_MS` (debug builds) holds a purge right after its records' transaction commits, so
/// that the kill lands at that instant every time.
@Suite(.timeLimit(.minutes(4)))
struct PurgeCrashEndToEndTests {
    @Test func aPurgeKilledAfterItsRecordsWentIsFinishedByTheNextStart() async throws {
        let h = try DaemonHarness(environment: ["INGESTD_DEBUG_PURGE_HOLD_MS": "60000"])
        defer { h.remove() }
        let clip = try await TestClips.mp4  // made before the daemon starts: its making may wait behind other tests'
        let other = try await TestClips.mov
        try await h.start()
        try h.drop(clip, as: "k3/a.mp4")
        try h.drop(other, as: "keep/b.mov")
        try await waitUntil("both files are stored with their thumbnails", timeout: .seconds(60)) {
            let k3 = try await h.assets("k3")
            let keep = try await h.assets("keep")
            return k3.count == 1 && keep.count == 1
                && (k3 + keep).allSatisfy { $0["thumbnail_path"] is String }
        }
        try h.drop(clip, as: "k3/again.mp4")  // a duplicate: rejected
        try await waitUntil("the duplicate is rejected") {
            h.files(in: "storage/rejected/project_k3").count == 2
        }
        let keepFiles = h.files(in: "storage/uploads/project_keep")

        let purge = Task { try? await h.request("DELETE", "/projects/k3/storage", maxTime: 120) }
        try await waitUntil("the purge is held after its records went", timeout: .seconds(60)) {
            h.log.contains("ingestd debug: a purge is held")
        }
        _ = try await h.stop(signal: SIGKILL)
        _ = await purge.value
        #expect(h.files(in: "storage/uploads/project_k3").count == 1, "the kill left the purge's files")

        h.environment["INGESTD_DEBUG_PURGE_HOLD_MS"] = nil
        try await h.start()
        for category in ["uploads", "thumbnails", "processed", "exports", "music", "rejected"] {
            #expect(
                !FileManager.default.fileExists(atPath: h.storage + "/\(category)/project_k3"),
                "\(category) of k3 is gone after the restart"
            )
        }
        let projects = try await h.request("GET", "/projects").array()
        #expect(projects.map { $0["project_id"] as? String } == ["keep"])
        #expect(h.files(in: "storage/uploads/project_keep") == keepFiles)
        let repair = try await h.request("POST", "/repair").object()
        #expect(repair["records_created"] as? Int == 0)
        #expect(try await h.assets("k3").isEmpty)

        // A file dropped into the project afterwards is a new file.
        try h.drop(clip, as: "k3/later.mp4")
        try await waitUntil("the later file is stored") {
            try await h.assets("k3").first?["status"] as? String == "ready"
        }
        #expect(try await h.stop() == 0)
    }
}
