import Foundation
import IngestConfig
import Logging
import Testing

@testable import StorageKit

#if canImport(Glibc)
import Glibc
#endif

/// Recovery of journalled moves at start: every file ends up exactly once, in the drop, `uploads/` or `rejected/`.
extension IngestorTests {
    /// Puts `bytes` into staging under a journal entry of `stage` for the drop path `source`; with `record`,
    /// also a `processing` record whose target is returned.
    @discardableResult
    static func journal(
        _ b: Bench,
        source: RawPath,
        bytes: [UInt8]?,
        stage: PendingMove.Stage,
        record: Bool,
        fileAtTarget: [UInt8]? = nil
    ) async throws -> (move: PendingMove, asset: Asset?) {
        let id = UUID().uuidString.lowercased()
        let staging = b.layout.stagingPath + "/" + id + ".mp4"
        if let bytes { try writeFile(staging, bytes) }
        var asset: Asset?
        if record {
            // A placed file's record describes its bytes (recovery compares them with a copied source).
            var a = Fixture.asset(project: "demo", id: id, status: .processing)
            if let fileAtTarget {
                let scratch = try writeFile(b.dir.path + "/scratch-" + id, fileAtTarget)
                a.checksum = try await Checksums.sha256(file: scratch)
                a.sizeBytes = Int64(fileAtTarget.count)
                unlink(scratch)
            }
            try b.catalog.insert(a)
            asset = a
        }
        if let fileAtTarget, let asset { try writeFile(try b.layout.absolute(asset.relativePath), fileAtTarget) }
        let move = try b.catalog.addPendingMove(
            PendingMove(
                assetID: id,
                projectID: "demo",
                sourcePath: PathCoding.encode(source),
                stagingPath: staging,
                targetRelativePath: asset?.relativePath,
                stage: stage
            )
        )
        return (move, asset)
    }

    @Test(arguments: [PendingMove.Stage.staged, .placing])
    func aStagedFileGoesBackToTheDrop(stage: PendingMove.Stage) async throws {
        let b = try Bench()
        defer { b.remove() }
        let bytes = patternBytes(4000)
        // The drop folder itself is gone too (its owner removed the now empty folder).
        let source = RawPath(b.drop + "/demo/sub/clip.mp4")
        let (_, asset) = try await Self.journal(
            b,
            source: source,
            bytes: bytes,
            stage: stage,
            record: stage == .placing
        )
        let summary = try b.ingestor.recover()
        #expect(summary.returnedToDrop == 1)
        #expect(summary.recordsRemoved == (asset == nil ? 0 : 1))
        #expect(summary.finished.isEmpty)
        #expect(try Checksums.bytes(source.description) == bytes)
        #expect(b.staging.isEmpty)
        #expect(try b.catalog.pendingMoves().isEmpty)
        #expect(try b.catalog.allAssets().isEmpty)
        // Nothing is left to do.
        #expect(try b.ingestor.recover() == RecoverySummary())
    }

    @Test func aFileReturnedToAnOccupiedNameGetsANumberedOne() async throws {
        let b = try Bench()
        defer { b.remove() }
        let newer = try writeFile(b.drop + "/demo/clip.mp4", [2, 2, 2])
        try await Self.journal(b, source: RawPath(newer), bytes: [1, 1, 1], stage: .staged, record: false)
        _ = try b.ingestor.recover()
        #expect(try Checksums.bytes(newer) == [2, 2, 2])
        #expect(try Checksums.bytes(b.drop + "/demo/clip-1.mp4") == [1, 1, 1])
        #expect(b.staging.isEmpty)
    }

    @Test func aNameThatIsNotUTF8GoesBackByteForByte() async throws {
        let b = try Bench()
        defer { b.remove() }
        let source = RawPath(b.drop + "/demo").appending([0x63, 0xFF, 0xFE, 0x2E, 0x6D, 0x70, 0x34])
        #expect(PathCoding.encode(source).hasPrefix("hex:"))
        try await Self.journal(b, source: source, bytes: [7, 7], stage: .staged, record: false)
        #expect(try b.ingestor.recover().returnedToDrop == 1)
        #expect(try FileOps.lstat(source)?.size == 2)
    }

    @Test func anInterruptedCopyIsDroppedWhileTheSourceIsStillThere() async throws {
        let b = try Bench()
        defer { b.remove() }
        let source = try writeFile(b.drop + "/demo/far.mp4", [1, 2, 3, 4])
        try await Self.journal(b, source: RawPath(source), bytes: [1, 2], stage: .copying, record: false)
        let summary = try b.ingestor.recover()
        #expect(summary.returnedToDrop == 1)
        #expect(try Checksums.bytes(source) == [1, 2, 3, 4])
        #expect(b.dropEntries == ["demo/far.mp4"])
        #expect(b.staging.isEmpty)
        #expect(try b.catalog.pendingMoves().isEmpty)
    }

    @Test func aPlacedCopyLosesItsSourceAndIsFinished() async throws {
        let b = try Bench()
        defer { b.remove() }
        let source = try writeFile(b.drop + "/demo/far.mp4", [5, 6])
        let (_, asset) = try await Self.journal(
            b,
            source: RawPath(source),
            bytes: nil,
            stage: .placedCopy,
            record: true,
            fileAtTarget: [5, 6]
        )
        let a = try #require(asset)
        let summary = try b.ingestor.recover()
        #expect(summary.finished.map(\.id) == [a.id])
        #expect(fileKind(source) == nil)
        #expect(try b.catalog.asset(id: a.id)?.status == .ready)
        #expect(try b.catalog.jobs(assetID: a.id).map(\.kind) == [.thumbnail])
        #expect(try Checksums.bytes(try b.layout.absolute(a.relativePath)) == [5, 6])
    }

    /// Issue 10, scenario 5: after a crash, a copied source's name that now holds other bytes is kept.
    @Test func aPlacedCopysNameHoldingAnotherFileKeepsIt() async throws {
        let b = try Bench()
        defer { b.remove() }
        let source = try writeFile(b.drop + "/demo/GOPR0001.MP4", [9, 9, 9])
        let (_, asset) = try await Self.journal(
            b,
            source: RawPath(source),
            bytes: nil,
            stage: .placedCopy,
            record: true,
            fileAtTarget: [5, 6]
        )
        let a = try #require(asset)
        let summary = try b.ingestor.recover()
        #expect(summary.finished.map(\.id) == [a.id])
        #expect(try Checksums.bytes(source) == [9, 9, 9])
        #expect(try b.catalog.asset(id: a.id)?.status == .ready)
    }

    @Test func aPlacedFileIsFinished() async throws {
        let b = try Bench()
        defer { b.remove() }
        let bytes = patternBytes(2500)
        let source = RawPath(b.drop + "/demo/clip.mp4")
        let (_, asset) = try await Self.journal(
            b,
            source: source,
            bytes: nil,
            stage: .placing,
            record: true,
            fileAtTarget: bytes
        )
        let a = try #require(asset)
        let summary = try b.ingestor.recover()
        #expect(summary.finished.map(\.id) == [a.id])
        #expect(summary.returnedToDrop == 0 && summary.recordsRemoved == 0)
        let record = try #require(try b.catalog.asset(id: a.id))
        #expect(record.status == .ready)
        #expect(record.relativePath == a.relativePath)
        #expect(try Checksums.bytes(try b.layout.absolute(a.relativePath)) == bytes)
        #expect(fileKind(source.description) == nil)
        #expect(try b.catalog.pendingMoves().isEmpty)
        #expect(try b.catalog.assets(status: .processing).isEmpty)
    }

    @Test func aProcessingRecordWithoutAJournalEntry() throws {
        let b = try Bench()
        defer { b.remove() }
        let placed = Fixture.asset(project: "demo", status: .processing)
        let lost = Fixture.asset(project: "demo", status: .processing)
        let ready = Fixture.asset(project: "demo", status: .ready)
        try b.catalog.insertBatch([placed, lost, ready])
        try writeFile(try b.layout.absolute(placed.relativePath), [1, 2])
        try writeFile(try b.layout.absolute(ready.relativePath), [3])
        let summary = try b.ingestor.recover()
        #expect(summary.finished.map(\.id) == [placed.id])
        #expect(summary.recordsRemoved == 1)
        #expect(try b.catalog.asset(id: placed.id)?.status == .ready)
        #expect(try b.catalog.asset(id: lost.id) == nil)
        #expect(try b.catalog.asset(id: ready.id) == ready)
        #expect(try Checksums.bytes(try b.layout.absolute(placed.relativePath)) == [1, 2])
    }

    @Test func unacknowledgedUploadsAreRemoved() throws {
        let b = try Bench()
        defer { b.remove() }
        try writeFile(b.layout.stagingPath + "/.upload-partial.tmp", [1, 2, 3])
        let journalled = try writeFile(b.layout.stagingPath + "/.upload-journalled.tmp", [4, 5])
        _ = try b.catalog.addPendingMove(
            PendingMove(assetID: "u1", projectID: "demo", sourcePath: "", stagingPath: journalled, stage: .upload)
        )
        let summary = try b.ingestor.recover()
        #expect(summary.abandonedUploads == 2)
        #expect(b.staging.isEmpty)
        #expect(try b.catalog.pendingMoves().isEmpty)
    }

    /// Every crash state at once: afterwards each dropped file is exactly once in the drop or in uploads with
    /// a ready record; only unacknowledged uploads are gone.
    @Test func everyFileEndsUpExactlyOnce() async throws {
        let b = try Bench()
        defer { b.remove() }
        var expectedInDrop: [[UInt8]] = []
        var expectedInUploads: [[UInt8]] = []
        for n in 0..<3 {
            let bytes = patternBytes(1000 + n, seed: UInt64(n + 1))
            try await Self.journal(
                b,
                source: RawPath(b.drop + "/demo/s\(n).mp4"),
                bytes: bytes,
                stage: .staged,
                record: false
            )
            expectedInDrop.append(bytes)
        }
        for n in 0..<2 {
            let bytes = patternBytes(2000 + n, seed: UInt64(n + 10))
            try await Self.journal(
                b,
                source: RawPath(b.drop + "/demo/p\(n).mp4"),
                bytes: bytes,
                stage: .placing,
                record: true
            )
            expectedInDrop.append(bytes)
        }
        for n in 0..<2 {
            let bytes = patternBytes(3000 + n, seed: UInt64(n + 20))
            try await Self.journal(
                b,
                source: RawPath(b.drop + "/demo/f\(n).mp4"),
                bytes: nil,
                stage: .placing,
                record: true,
                fileAtTarget: bytes
            )
            expectedInUploads.append(bytes)
        }
        let orphan = Fixture.asset(project: "demo", status: .processing)
        try b.catalog.insert(orphan)
        let orphanBytes = patternBytes(4000, seed: 30)
        try writeFile(try b.layout.absolute(orphan.relativePath), orphanBytes)
        expectedInUploads.append(orphanBytes)
        try b.catalog.insert(Fixture.asset(project: "demo", status: .processing))  // its file never arrived
        try writeFile(b.layout.stagingPath + "/.upload-x.tmp", patternBytes(10, seed: 40))

        _ = try b.ingestor.recover()

        func contents(_ root: String, _ names: [String]) throws -> [[UInt8]] {
            try names.map { try Checksums.bytes(root + "/" + $0) }
        }
        let inDrop = try contents(b.drop, b.dropEntries)
        let uploadsRoot = b.layout.projectPath(.uploads, Fixture.demo)
        let inUploads = try contents(uploadsRoot, b.uploads())
        let sort: ([UInt8], [UInt8]) -> Bool = { $0.count < $1.count }
        #expect(inDrop.sorted(by: sort) == expectedInDrop.sorted(by: sort))
        #expect(inUploads.sorted(by: sort) == expectedInUploads.sorted(by: sort))
        #expect(b.staging.isEmpty)
        #expect(b.rejected().isEmpty)
        #expect(try b.catalog.pendingMoves().isEmpty)
        #expect(try b.catalog.assets(status: .processing).isEmpty)
        let ready = try b.catalog.assets(status: .ready)
        #expect(Set(ready.map(\.relativePath)) == Set(b.uploads().map { "uploads/project_demo/" + $0 }))
    }

    @Test(.timeLimit(.minutes(3)))
    func aFileReturnedByRecoveryIngestsNormally() async throws {
        let b = try Bench()
        defer { b.remove() }
        let clip = try Checksums.bytes(try await b.clips.h264VideoOnly())
        let source = RawPath(b.drop + "/demo/back.mp4")
        try await Self.journal(b, source: source, bytes: clip, stage: .staged, record: false)
        _ = try b.ingestor.recover()
        let asset = try Self.stored(b.ingest(source.description, project: "demo"))
        #expect(asset.originalFilename == "back.mp4")
        #expect(try Checksums.bytes(try b.layout.absolute(asset.relativePath)) == clip)
    }
}
