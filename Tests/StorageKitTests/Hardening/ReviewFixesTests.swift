import Foundation
import Testing

@testable import StorageKit

#if canImport(Glibc)
import Glibc
#endif

/// Fixes from the review of issue 10's hardening.
struct ReviewFixesTests {
    /// Item 9: an upload that fails for an unexpected reason is told in the upload's name, never by the
    /// staging path.
    @Test(.timeLimit(.minutes(3)))
    func anUploadFailureNamesTheUploadNotTheStagingFile() throws {
        let b = try IngestorTests.Bench()
        defer { b.remove() }
        let staged = b.layout.stagingPath + "/.upload-missing.tmp"
        let outcome = b.ingestor.ingestUpload(
            staged: staged,
            originalFilename: "My Clip.mp4",
            project: Fixture.demo,
            size: 100,
            checksum: String(repeating: "ab", count: 32),
            policy: IngestPolicy(b.config)
        )
        guard case .failed(let text) = outcome else {
            Issue.record("expected a failure, got \(outcome)")
            return
        }
        #expect(text.contains("My Clip.mp4"))
        #expect(!text.contains(".upload-"))
        #expect(!text.contains(b.layout.root))
    }

    /// Item 7: a `processing` record that cannot be checked does not stop start-up; the others are recovered.
    @Test(.timeLimit(.minutes(3)))
    func aProcessingRecordThatCannotBeCheckedDoesNotStopRecovery() throws {
        let b = try IngestorTests.Bench()
        defer { b.remove() }
        var bad = Fixture.asset(status: .processing)
        bad.relativePath = "../outside/x.mp4"
        try b.catalog.insert(bad)
        let gone = Fixture.asset(status: .processing)
        try b.catalog.insert(gone)
        let summary = try b.ingestor.recover()
        #expect(summary.recordsRemoved == 1)
        #expect(summary.unrecoveredRecords == ["demo/lesson.mp4"])
        #expect(try b.catalog.asset(id: gone.id) == nil)
    }

    /// Item 4: `cp` over the same name keeps the inode; the new content is not removed.
    @Test func removeIfSameKeepsNewContentInTheSameInode() throws {
        let dir = try TempDir("review")
        defer { dir.remove() }
        let path = dir.path + "/x.mp4"
        try Data(repeating: 1, count: 100).write(to: URL(fileURLWithPath: path))
        let identity = try #require(try FileOps.lstat(path))
        usleep(20_000)
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try h.write(contentsOf: Data(repeating: 2, count: 100))
        try h.close()
        let result = try FileOps.removeIfSame(RawPath(path), identity: identity, asideName: Array(".aside".utf8))
        #expect(result == .kept(at: RawPath(path)))
        #expect(FileManager.default.contents(atPath: path) == Data(repeating: 2, count: 100))
    }

    /// Item 12: a dropped file named like a reason file is kept under a name that cannot be mistaken for
    /// one, so it is listed (and can be retried).
    @Test func aFileNamedLikeAReasonFileIsListed() throws {
        let b = try RejectedStoreTests.Bench()
        defer { b.dir.remove() }
        let source = try writeFile(b.dir.path + "/drop/demo/x.reason.json", Array("{}".utf8))
        let name = try b.store.reject(
            path: source,
            as: "x.reason.json",
            project: Fixture.demo,
            rejection: RejectedStoreTests.rejection(original: "x.reason.json")
        )
        #expect(name == "x.reason-1.json")
        #expect(listing(b.folder) == ["x.reason-1.json", "x.reason-1.json.reason.json"])
        let listed = try b.store.list(project: Fixture.demo)
        #expect(listed.map(\.name) == ["x.reason-1.json"])
        #expect(listed.first?.reason == "not_media")
        #expect(listed.first?.originalFilename == "x.reason.json")
    }
}
