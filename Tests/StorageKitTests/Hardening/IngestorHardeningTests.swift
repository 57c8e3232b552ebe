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
    @Test func aNameSwappedBetweenOpenAndRenameIsNotStaged() throws {
        let b = try Bench()
        defer { b.remove() }
        let source = try b.put(try b.clips.h264VideoOnly(), at: "demo/a.mp4")
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
    func aNewFileOnACopiedSourcesNameIsNotDeleted() throws {
        let b = try Bench()
        defer { b.remove() }
        let shm = "/dev/shm/hardening-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: shm) }
        let clip = try Checksums.bytes(try b.clips.h264VideoOnly())
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
    func aSourceSetAsideWhenTheDaemonDiedIsSettled(holdsStoredBytes: Bool) throws {
        let b = try Bench()
        defer { b.remove() }
        let stored = try Checksums.bytes(try b.clips.h264VideoOnly())
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
            checksum: try Checksums.sha256(file: try b.layout.absolute(relative)),
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
    @Test func aFailureAfterStagingIsRolledBackAtOnce() throws {
        let b = try Bench()
        defer { b.remove() }
        let bytes = try Checksums.bytes(try b.clips.h264VideoOnly())
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
    @Test func anUploadInterruptedWhilePlacingIsFinished() throws {
        let b = try Bench()
        defer { b.remove() }
        let staged = b.layout.stagingPath + "/.upload-1.tmp"
        try FileManager.default.copyItem(atPath: try b.clips.h264VideoOnly(), toPath: staged)
        let relative = "uploads/project_demo/up-0123456789.mp4"
        let now = ISO8601Millis.now()
        let asset = Asset(
            id: "a1",
            projectID: "demo",
            filename: "up-0123456789.mp4",
            originalFilename: "up.mp4",
            relativePath: relative,
            checksum: try Checksums.sha256(file: staged),
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

/// Issue 10, scenario 4: a folder of the drop swapped for a symlink after a file was noticed.
@Suite(.timeLimit(.minutes(3)))
struct DropAnchorTests {
    @Test func aFolderSwappedForASymlinkCannotReachOutsideTheDrop() throws {
        var b = try IngestorTests.Bench()
        defer { b.remove() }
        b.config.dropPath = b.drop
        let clip = try Checksums.bytes(try b.clips.h264VideoOnly())
        let source = try writeFile(b.drop + "/demo/sub/a.mp4", clip)
        // Noticed as drop/demo/sub/a.mp4; then sub becomes a link to a folder outside holding a.mp4.
        let outside = b.dir.path + "/outside"
        try writeFile(outside + "/a.mp4", clip)
        try FileManager.default.removeItem(atPath: b.drop + "/demo/sub")
        #expect(symlink(outside, b.drop + "/demo/sub") == 0)
        let outcome = b.ingest(source, project: "demo")
        guard case .vanished = outcome else {
            Issue.record("expected .vanished, got \(outcome)")
            return
        }
        #expect(try Checksums.bytes(outside + "/a.mp4") == clip)
        #expect(b.uploads().isEmpty)
        #expect(b.rejected().isEmpty)
        #expect(b.staging.isEmpty)
    }

    @Test func aFileBelowRealFoldersIsTakenThroughItsAnchor() throws {
        var b = try IngestorTests.Bench()
        defer { b.remove() }
        b.config.dropPath = b.drop
        let source = try b.put(try b.clips.h264VideoOnly(), at: "demo/deep/er/a.mp4")
        let asset = try IngestorTests.stored(b.ingest(source, project: "demo"))
        #expect(asset.originalFilename == "a.mp4")
        #expect(fileKind(source) == nil)
        let bytes = patternBytes(100)
        let text = try writeFile(b.drop + "/demo/deep/notes.txt", bytes)
        try IngestorTests.expectRejected(
            b.ingest(text, project: "demo"),
            b,
            reason: .extensionNotAllowed,
            name: "notes.txt",
            source: text,
            bytes: bytes
        )
    }
}

/// Issue 10, scenario 10: the duplicate rule is decided inside the record's write transaction.
@Suite(.timeLimit(.minutes(3)))
struct DuplicateRaceTests {
    @Test func twoIdenticalFilesAtOnceAreStoredOnce() throws {
        let b = try IngestorTests.Bench()
        defer { b.remove() }
        let clip = try Checksums.bytes(try b.clips.h264VideoOnly())
        let first = try writeFile(b.drop + "/demo/a.mp4", clip)
        let second = try writeFile(b.drop + "/demo/b.mp4", clip)
        let inner = Mutex<IngestOutcome?>(nil)
        let plain = b.ingestor
        let config = b.config
        var hooks = IngestHooks()
        // a.mp4 passed the pre-check; b.mp4, identical, is ingested in full before a.mp4's record is written.
        hooks.beforeRecord = { _ in
            inner.withLock { outcome in
                if outcome == nil {
                    outcome = plain.ingestDropped(
                        source: RawPath(second),
                        project: ProjectID(exactly: "demo"),
                        policy: IngestPolicy(config)
                    )
                }
            }
        }
        let outcome = IngestorHardeningTests.ingestor(b, hooks).ingestDropped(
            source: RawPath(first),
            project: ProjectID(exactly: "demo"),
            policy: IngestPolicy(b.config)
        )
        let stored = try IngestorTests.stored(try #require(inner.withLock { $0 }))
        #expect(stored.originalFilename == "b.mp4")
        guard case .rejected(let rejection, _, _) = outcome else {
            Issue.record("the second identical file was not rejected: \(outcome)")
            return
        }
        #expect(rejection.reason == .duplicate)
        #expect(b.uploads().count == 1)
        #expect(b.staging.isEmpty)
        #expect(try b.catalog.pendingMoves().isEmpty)
    }
}

/// Issue 10, scenario 10: an asset created while repair runs is not taken for an orphan.
@Suite(.timeLimit(.minutes(3)))
struct RepairSnapshotTests {
    @Test func anAssetCreatedAfterRepairsSnapshotKeepsItsThumbnailAndGetsNoSecondRecord() throws {
        let b = try IngestorTests.Bench()
        defer { b.remove() }
        let late = Fixture.asset(project: "demo", size: 4)
        let thumbnail = "thumbnails/project_demo/" + ThumbnailNaming.name(forStored: late.filename)
        let summary = try Repair.run(
            layout: b.layout,
            catalog: b.catalog,
            dryRun: false,
            logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() },
            config: nil,
            afterSnapshot: {
                // An ingest lands between repair's first look at the records and its walk of the disk.
                var asset = late
                asset.thumbnailPath = thumbnail
                try b.catalog.insert(asset)
                try writeFile(try b.layout.absolute(asset.relativePath), [1, 2, 3, 4])
                try writeFile(try b.layout.absolute(thumbnail), [0xFF, 0xD8, 0xFF, 0xD9])
            }
        )
        #expect(summary.recordsCreated == 0)
        #expect(summary.orphanThumbnailsRemoved == 0)
        #expect(fileKind(try b.layout.absolute(thumbnail)) == "file")
        #expect(try b.catalog.allAssets().count == 1)
    }
}

/// Found by a black-box review: a record whose stored file is gone took one repair, its thumbnail a second.
@Suite(.timeLimit(.minutes(3)))
struct RepairMissingFileTests {
    @Test func oneRepairRemovesTheRecordOfAMissingFileAndItsThumbnail() throws {
        let b = try IngestorTests.Bench()
        defer { b.remove() }
        var asset = Fixture.asset(project: "demo", size: 4)
        asset.thumbnailPath = "thumbnails/project_demo/" + ThumbnailNaming.name(forStored: asset.filename)
        try b.catalog.insert(asset)
        let thumbnail = try b.layout.absolute(try #require(asset.thumbnailPath))
        try writeFile(thumbnail, [0xFF, 0xD8, 0xFF, 0xD9])  // the stored file itself was removed by hand
        let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
        let dry = try Repair.run(layout: b.layout, catalog: b.catalog, dryRun: true, logger: logger)
        #expect(dry.recordsRemoved == 1 && dry.orphanThumbnailsRemoved == 1)
        let summary = try Repair.run(layout: b.layout, catalog: b.catalog, dryRun: false, logger: logger)
        #expect(summary.recordsRemoved == 1)
        #expect(summary.orphanThumbnailsRemoved == 1)
        #expect(fileKind(thumbnail) == nil)
        let again = try Repair.run(layout: b.layout, catalog: b.catalog, dryRun: false, logger: logger)
        #expect(again.recordsRemoved == 0 && again.orphanThumbnailsRemoved == 0)
    }
}
