import Foundation
import IngestConfig
import Logging
import Synchronization
import Testing

@testable import StorageKit

#if canImport(Glibc)
import Glibc
#endif

/// Issue 10, scenarios 5–9: the ingest pipeline's failure windows, forced through ``IngestHooks``.
@Suite(.timeLimit(.minutes(3)))
struct IngestorHardeningTests {
    typealias Bench = IngestorTests.Bench

    static func ingestor(_ b: Bench, _ hooks: IngestHooks) -> Ingestor {
        Ingestor(
            layout: b.layout,
            catalog: b.catalog,
            logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() },
            hooks: hooks
        )
    }

    /// Scenario 6: the name is swapped for a symlink between open and rename; nothing but the file held open
    /// may be staged, and a link never reaches `uploads/`.
    @Test func aNameSwappedBetweenOpenAndRenameIsNotStaged() async throws {
        let b = try Bench()
        defer { b.remove() }
        let source = try b.put(try await b.clips.h264VideoOnly(), at: "demo/a.mp4")
        let outside = b.dir.path + "/outside.mp4"
        var hooks = IngestHooks()
        hooks.afterOpen = { path in
            rename(path.description, outside)
            symlink(outside, path.description)
        }
        let outcome = Self.ingestor(b, hooks).ingestDropped(
            source: RawPath(source),
            project: ProjectID(exactly: "demo"),
            policy: IngestPolicy(b.config)
        )
        if case .stored = outcome { Issue.record("a swapped name was stored: \(outcome)") }
        #expect(b.uploads().isEmpty)
        #expect(b.staging.isEmpty)
        #expect(fileKind(source) == "link")
        #expect(fileKind(outside) == "file")
        #expect(try b.catalog.pendingMoves().isEmpty)
    }

    /// Scenario 5: a new file renamed onto a copied source's name before it is removed stays.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/dev/shm")))
    func aNewFileOnACopiedSourcesNameIsNotDeleted() async throws {
        let b = try Bench()
        defer { b.remove() }
        let shm = "/dev/shm/hardening-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: shm) }
        let clip = try Checksums.bytes(try await b.clips.h264VideoOnly())
        let source = try writeFile(shm + "/demo/GOPR0001.MP4", clip)
        try #require(try FileOps.lstat(source)?.device != FileOps.lstat(b.layout.stagingPath)?.device)
        let next = patternBytes(5000)
        var hooks = IngestHooks()
        hooks.beforeSourceRemoval = { path in
            let incoming = shm + "/incoming"
            _ = try? writeFile(incoming, next)
            rename(incoming, path.description)
        }
        let outcome = Self.ingestor(b, hooks).ingestDropped(
            source: RawPath(source),
            project: ProjectID(exactly: "demo"),
            policy: IngestPolicy(b.config)
        )
        _ = try IngestorTests.stored(outcome)
        #expect(try Checksums.bytes(source) == next)
        #expect(try b.catalog.pendingMoves().isEmpty)
    }

    /// Scenario 10: a cross-filesystem file refused after its copy must end in `rejected/` once. The drop's
    /// file is removed before the copy moves to `rejected/`; a failure in between returns everything to the
    /// drop. (Rejecting first left a copy in `rejected/` and the source in the drop, rejected again later.)
    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/dev/shm")))
    func aRejectInterruptedAcrossFilesystemsLeavesOneCopy() throws {
        let b = try Bench()
        defer { b.remove() }
        let shm = "/dev/shm/hardening-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: shm) }
        let bytes = patternBytes(3000)
        let source = try writeFile(shm + "/demo/notes.mp4", bytes)
        try #require(try FileOps.lstat(source)?.device != FileOps.lstat(b.layout.stagingPath)?.device)
        var hooks = IngestHooks()
        hooks.beforeSourceRemoval = { _ in throw StorageError(code: .io, message: "simulated failure") }
        let first = Self.ingestor(b, hooks).ingestDropped(
            source: RawPath(source),
            project: ProjectID(exactly: "demo"),
            policy: IngestPolicy(b.config)
        )
        guard case .failed = first else {
            Issue.record("expected .failed, got \(first)")
            return
        }
        #expect(b.rejected().isEmpty)
        #expect(try Checksums.bytes(source) == bytes)
        #expect(b.staging.isEmpty)
        #expect(try b.catalog.pendingMoves().isEmpty)

        let second = b.ingestor.ingestDropped(
            source: RawPath(source),
            project: ProjectID(exactly: "demo"),
            policy: IngestPolicy(b.config)
        )
        guard case .rejected = second else {
            Issue.record("expected .rejected, got \(second)")
            return
        }
        #expect(b.rejected() == ["notes.mp4", "notes.mp4.reason.json"])
        #expect(
            try Checksums.bytes(b.layout.projectPath(.rejected, ProjectID(exactly: "demo")!) + "/notes.mp4") == bytes
        )
        #expect(fileKind(source) == nil)
    }

    /// Scenario 10 (review): the drop's file is removed before its copy moves to `rejected/`; when that move
    /// then fails (the folder cannot be made), the copy goes back to the drop across filesystems — not into
    /// the quarantine — and nothing is left in staging.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/dev/shm")))
    func aRejectThatCannotReachRejectedReturnsTheFileToTheDropAcrossFilesystems() throws {
        let b = try Bench()
        defer { b.remove() }
        let shm = "/dev/shm/hardening-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: shm) }
        let bytes = patternBytes(3000)
        let source = try writeFile(shm + "/demo/notes.mp4", bytes)
        try #require(try FileOps.lstat(source)?.device != FileOps.lstat(b.layout.stagingPath)?.device)
        // rejected/project_demo is a file: the reject cannot make its folder.
        _ = try writeFile(b.layout.projectPath(.rejected, ProjectID(exactly: "demo")!), [1])
        let outcome = b.ingestor.ingestDropped(
            source: RawPath(source),
            project: ProjectID(exactly: "demo"),
            policy: IngestPolicy(b.config)
        )
        guard case .failed = outcome else {
            Issue.record("expected .failed, got \(outcome)")
            return
        }
        #expect(try Checksums.bytes(source) == bytes)
        #expect(b.staging.isEmpty)
        #expect(Quarantine.contents(b.layout).isEmpty)
        #expect(try b.catalog.pendingMoves().isEmpty)
    }

    /// Scenario 5, after a crash: a copied source set aside under its hidden name to be checked before removal
    /// is found by recovery — removed when it holds the stored bytes, put back under its name otherwise —
    /// never left hidden in the drop.
    @Test(arguments: [true, false])
    func aSourceSetAsideWhenTheDaemonDiedIsSettled(holdsStoredBytes: Bool) async throws {
        let b = try Bench()
        defer { b.remove() }
        let stored = try Checksums.bytes(try await b.clips.h264VideoOnly())
        let relative = "uploads/project_demo/GOPR0001-0123456789.MP4"
        _ = try writeFile(try b.layout.absolute(relative), stored)
        let source = RawPath(b.drop + "/demo/GOPR0001.MP4")
        let aside = source.parent.appending(Ingestor.asideName("a1"))
        let other = patternBytes(4000)
        _ = try writeFile(aside.description, holdsStoredBytes ? stored : other)
        let now = ISO8601Millis.now()
        let asset = Asset(
            id: "a1",
            projectID: "demo",
            filename: "GOPR0001-0123456789.MP4",
            originalFilename: "GOPR0001.MP4",
            relativePath: relative,
            checksum: try await Checksums.sha256(file: try b.layout.absolute(relative)),
            sizeBytes: Int64(stored.count),
            mimeType: "video/mp4",
            status: .ready,
            metadata: nil,
            createdAt: now,
            updatedAt: now
        )
        try b.catalog.write { tx in try tx.insert(asset) }
        _ = try b.catalog.addPendingMove(
            PendingMove(
                assetID: "a1",
                projectID: "demo",
                sourcePath: PathCoding.encode(source),
                stagingPath: b.layout.stagingPath + "/a1.mp4",
                targetRelativePath: relative,
                stage: .placedCopy
            )
        )
        let summary = try b.ingestor.recover()
        #expect(summary.quarantined.isEmpty)
        #expect(fileKind(aside.description) == nil)
        if holdsStoredBytes {
            #expect(b.dropEntries.isEmpty)
        } else {
            #expect(b.dropEntries == ["demo/GOPR0001.MP4"])
            #expect(try Checksums.bytes(source.description) == other)
        }
        #expect(b.uploads() == ["GOPR0001-0123456789.MP4"])
        #expect(try b.catalog.pendingMoves().isEmpty)
    }

    /// Scenario 9: a failure after staging is rolled back at once, not at the next start.
    @Test func aFailureAfterStagingIsRolledBackAtOnce() async throws {
        let b = try Bench()
        defer { b.remove() }
        let bytes = try Checksums.bytes(try await b.clips.h264VideoOnly())
        let source = try writeFile(b.drop + "/demo/a.mp4", bytes)
        var hooks = IngestHooks()
        hooks.afterStaging = { _ in throw StorageError(code: .io, message: "simulated failure") }
        let outcome = Self.ingestor(b, hooks).ingestDropped(
            source: RawPath(source),
            project: ProjectID(exactly: "demo"),
            policy: IngestPolicy(b.config)
        )
        guard case .failed = outcome else {
            Issue.record("expected .failed, got \(outcome)")
            return
        }
        #expect(try Checksums.bytes(source) == bytes)
        #expect(b.staging.isEmpty)
        #expect(try b.catalog.pendingMoves().isEmpty)
        #expect(try b.catalog.allAssets().isEmpty)
    }

    /// Scenario 7: an upload killed between its `placing` commit and the rename is finished at start-up,
    /// never "returned" to the working directory.
    @Test func anUploadInterruptedWhilePlacingIsFinished() async throws {
        let b = try Bench()
        defer { b.remove() }
        let staged = b.layout.stagingPath + "/.upload-1.tmp"
        try FileManager.default.copyItem(atPath: try await b.clips.h264VideoOnly(), toPath: staged)
        let relative = "uploads/project_demo/up-0123456789.mp4"
        let now = ISO8601Millis.now()
        let asset = Asset(
            id: "a1",
            projectID: "demo",
            filename: "up-0123456789.mp4",
            originalFilename: "up.mp4",
            relativePath: relative,
            checksum: try await Checksums.sha256(file: staged),
            sizeBytes: 1,
            mimeType: "video/mp4",
            status: .processing,
            metadata: nil,
            createdAt: now,
            updatedAt: now
        )
        try b.catalog.write { tx in try tx.insert(asset) }
        _ = try b.catalog.addPendingMove(
            PendingMove(
                assetID: "a1",
                projectID: "demo",
                sourcePath: "",
                stagingPath: staged,
                targetRelativePath: relative,
                stage: .placing
            )
        )
        let summary = try b.ingestor.recover()
        #expect(summary.quarantined.isEmpty)
        #expect(b.uploads() == ["up-0123456789.mp4"])
        #expect(try b.catalog.asset(id: "a1")?.status == .ready)
        #expect(try b.catalog.pendingMoves().isEmpty)
        #expect(b.staging.isEmpty)
    }

    /// Scenario 7: an entry that cannot be returned (its drop folder is now a file) is quarantined; the
    /// other entries are still recovered and start-up goes on.
    @Test func anEntryThatCannotBeRecoveredIsQuarantinedAndTheRestGoesOn() throws {
        let b = try Bench()
        defer { b.remove() }
        let blocked = b.layout.stagingPath + "/blocked.mp4"
        let fine = b.layout.stagingPath + "/fine.mp4"
        try writeFile(blocked, patternBytes(10))
        try writeFile(fine, patternBytes(20))
        try writeFile(b.drop + "/gone", patternBytes(1))
        _ = try b.catalog.addPendingMove(
            PendingMove(
                assetID: "b1",
                projectID: "demo",
                sourcePath: b.drop + "/gone/a.mp4",
                stagingPath: blocked,
                stage: .staged
            )
        )
        _ = try b.catalog.addPendingMove(
            PendingMove(
                assetID: "b2",
                projectID: "demo",
                sourcePath: b.drop + "/demo/b.mp4",
                stagingPath: fine,
                stage: .staged
            )
        )
        let summary = try b.ingestor.recover(dropRoot: RawPath(b.drop))
        #expect(summary.quarantined.count == 1)
        #expect(summary.returnedToDrop == 1)
        #expect(try Checksums.bytes(b.drop + "/demo/b.mp4") == patternBytes(20))
        #expect(Quarantine.contents(b.layout) == ["b1/a.mp4"])
        #expect(try b.catalog.pendingMoves().isEmpty)
    }

    /// Scenario 8: a drop folder whose name is not UTF-8 is re-created from its bytes, not its lossy text.
    @Test func aNonUTF8DropFolderIsRecreatedFromItsBytes() throws {
        let b = try Bench()
        defer { b.remove() }
        let staged = b.layout.stagingPath + "/x.mp4"
        try writeFile(staged, patternBytes(10))
        let folder = RawPath(Array((b.drop + "/demo/").utf8) + [0x66, 0xFF, 0x6F])
        let source = folder.appending(Array("a.mp4".utf8))
        _ = try b.catalog.addPendingMove(
            PendingMove(
                assetID: "c1",
                projectID: "demo",
                sourcePath: PathCoding.encode(source),
                stagingPath: staged,
                stage: .staged
            )
        )
        let summary = try b.ingestor.recover()
        #expect(summary.returnedToDrop == 1)
        #expect(summary.quarantined.isEmpty)
        #expect(try FileOps.lstat(source)?.kind == .regular)
        #expect(b.staging.isEmpty)
    }

    /// Scenario 8: ENOENT because the target's folder is missing is not "the source is gone".
    @Test func aMissingTargetFolderIsNotAMissingSource() throws {
        let dir = try TempDir("enoent")
        defer { dir.remove() }
        let from = try writeFile(dir.path + "/a", patternBytes(3))
        #expect(throws: StorageError.self) { try FileOps.renameNoReplace(from, dir.path + "/no/such/folder/a") }
        #expect(try FileOps.renameNoReplace(dir.path + "/missing", dir.path + "/b") == .sourceMissing)
    }

    /// Scenario 8: a staged file without a journal entry goes back to the drop at start-up, never deleted.
    @Test func aStagedFileWithoutAJournalEntryGoesBackToTheDrop() throws {
        let b = try Bench()
        defer { b.remove() }
        try writeFile(b.layout.stagingPath + "/0f0e.mp4", patternBytes(7))
        let summary = try b.ingestor.recover(dropRoot: RawPath(b.drop))
        #expect(summary.returnedToDrop == 1)
        #expect(try Checksums.bytes(b.drop + "/0f0e.mp4") == patternBytes(7))
        #expect(b.staging.isEmpty)
    }
}
