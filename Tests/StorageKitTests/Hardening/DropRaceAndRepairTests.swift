import Foundation
import IngestConfig
import Logging
import Synchronization
import Testing

@testable import StorageKit

#if canImport(Glibc)
import Glibc
#endif

/// Issue 10, scenario 4: a folder of the drop swapped for a symlink after a file was noticed.
@Suite(.timeLimit(.minutes(3)))
struct DropAnchorTests {
    @Test func aFolderSwappedForASymlinkCannotReachOutsideTheDrop() async throws {
        var b = try IngestorTests.Bench()
        defer { b.remove() }
        b.config.dropPath = b.drop
        let clip = try Checksums.bytes(try await b.clips.h264VideoOnly())
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

    @Test func aFileBelowRealFoldersIsTakenThroughItsAnchor() async throws {
        var b = try IngestorTests.Bench()
        defer { b.remove() }
        b.config.dropPath = b.drop
        let source = try b.put(try await b.clips.h264VideoOnly(), at: "demo/deep/er/a.mp4")
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
    @Test func twoIdenticalFilesAtOnceAreStoredOnce() async throws {
        let b = try IngestorTests.Bench()
        defer { b.remove() }
        let clip = try Checksums.bytes(try await b.clips.h264VideoOnly())
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
