import Foundation
import IngestConfig
import Logging
import Testing

@testable import StorageKit

#if canImport(Glibc)
import Glibc
#endif

/// `Ingestor` against a real on-disk catalog, with the drop and storage in one temporary folder (one filesystem).
struct IngestorTests {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// A temporary storage + drop, a catalog on disk, an ingestor and a clip factory.
    struct Bench {
        let dir: TempDir
        let layout: StorageLayout
        let catalog: Catalog
        let ingestor: Ingestor
        let clips: ClipFactory
        var config = IngestConfiguration()
        var drop: String { dir.path + "/drop" }

        init() throws {
            dir = try TempDir("ingestor")
            layout = StorageLayout(root: dir.path + "/storage")
            try layout.createCategoryFolders()
            catalog = try Catalog.open(layout: layout)
            ingestor = Ingestor(
                layout: layout,
                catalog: catalog,
                logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
            )
            clips = try ClipFactory()
            try FileManager.default.createDirectory(atPath: dir.path + "/drop", withIntermediateDirectories: true)
        }

        func remove() {
            dir.remove()
            clips.remove()
        }

        /// Copies `source` into the drop at `relative` (a real copy, so it has one link).
        @discardableResult
        func put(_ source: String, at relative: String) throws -> String {
            try writeFile(drop + "/" + relative, try Checksums.bytes(source))
        }

        func ingest(_ path: String, project: String?) -> IngestOutcome {
            ingestor.ingestDropped(
                source: RawPath(path),
                project: project.flatMap { ProjectID(exactly: $0) },
                policy: IngestPolicy(config)
            )
        }

        /// Paths of every non-directory entry below `root`, relative to it, sorted.
        func entries(below root: String) -> [String] {
            guard let all = FileManager.default.subpaths(atPath: root) else { return [] }
            return all.filter { fileKind(root + "/" + $0) != "dir" }.sorted()
        }

        func uploads(_ project: String = "demo") -> [String] {
            entries(below: layout.categoryPath(.uploads) + "/project_" + project)
        }
        func rejected(_ project: String = "demo") -> [String] {
            entries(below: layout.categoryPath(.rejected) + "/project_" + project)
        }
        var staging: [String] { entries(below: layout.stagingPath) }
        var dropEntries: [String] { entries(below: drop) }

        /// The reason file of `rejected/project_<project>/<name>`.
        func reason(_ name: String, project: String = "demo") throws -> [String: Any] {
            let path = layout.projectPath(.rejected, ProjectID(exactly: project)!) + "/" + name + ".reason.json"
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        }
    }

    static func stored(_ outcome: IngestOutcome) throws -> Asset {
        guard case .stored(let asset) = outcome else { throw Failure(description: "expected .stored, got \(outcome)") }
        return asset
    }

    /// Checks a rejection end to end: the outcome, the moved file with its original bytes (or kind), the reason
    /// file, an empty journal and staging, no record, and the source gone from the drop.
    static func expectRejected(
        _ outcome: IngestOutcome,
        _ b: Bench,
        reason: RejectionReason,
        project: String = "demo",
        name: String,
        source: String,
        bytes: [UInt8]?,
        kind: String = "file",
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        guard case .rejected(let rejection, let p, let storedAs) = outcome else {
            Issue.record("expected .rejected(\(reason.rawValue)), got \(outcome)", sourceLocation: sourceLocation)
            return
        }
        #expect(rejection.reason == reason, sourceLocation: sourceLocation)
        #expect(p.rawValue == project, sourceLocation: sourceLocation)
        #expect(storedAs == name, sourceLocation: sourceLocation)
        let path = b.layout.categoryPath(.rejected) + "/project_" + project + "/" + name
        #expect(fileKind(path) == kind, sourceLocation: sourceLocation)
        if let bytes { #expect(try Checksums.bytes(path) == bytes, sourceLocation: sourceLocation) }
        let json = try b.reason(name, project: project)
        #expect(json["reason"] as? String == reason.rawValue, sourceLocation: sourceLocation)
        #expect(!((json["detail"] as? String) ?? "").isEmpty, sourceLocation: sourceLocation)
        let at = (json["rejected_at"] as? String) ?? ""
        #expect(at.wholeMatch(of: #/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/#) != nil, sourceLocation: sourceLocation)
        #expect(fileKind(source) == nil, "the source is still in the drop", sourceLocation: sourceLocation)
        #expect(b.staging.isEmpty, sourceLocation: sourceLocation)
        #expect(try b.catalog.pendingMoves().isEmpty, sourceLocation: sourceLocation)
    }

    // MARK: - Stored

    @Test(.timeLimit(.minutes(3)))
    func aValidClipIsStoredWithAReadyRecord() throws {
        let b = try Bench()
        defer { b.remove() }
        let source = try b.put(try b.clips.h264WithAudio(), at: "demo/lesson.mp4")
        let checksum = try Checksums.sha256(file: source)
        let original = try Checksums.bytes(source)
        let before = ISO8601Millis.milliseconds(ISO8601Millis.now())

        let asset = try Self.stored(b.ingest(source, project: "demo"))
        let after = ISO8601Millis.milliseconds(ISO8601Millis.now())

        #expect(asset.status == .ready)
        #expect(asset.projectID == "demo")
        #expect(asset.originalFilename == "lesson.mp4")
        #expect(asset.filename.wholeMatch(of: #/lesson-[0-9a-f]{10}\.mp4/#) != nil)
        #expect(asset.relativePath == "uploads/project_demo/" + asset.filename)
        #expect(asset.checksum == checksum)
        #expect(asset.sizeBytes == Int64(original.count))
        #expect(asset.mimeType == "video/mp4")
        #expect(asset.thumbnailPath == nil)
        #expect(try b.catalog.jobs(assetID: asset.id).map(\.kind) == [.thumbnail], "queued with the record")
        #expect(asset.error == nil)
        // The name's hash is SHA-1 of project, original name and a timestamp taken during the call.
        let names = (before - 1...after).map {
            StoredName(project: Fixture.demo, originalFilename: "lesson.mp4", timestamp: $0).filename
        }
        #expect(names.contains(asset.filename))

        let m = try #require(asset.metadata)
        #expect(m.width == 320 && m.height == 180)
        #expect(m.rotation == 0)
        #expect(m.videoCodec == "h264")
        #expect(m.audioCodec == "aac")
        #expect(m.sampleRate == 48_000)
        #expect(m.channels == 2)
        #expect(abs((m.durationSeconds ?? 0) - 2) < 0.2)
        #expect(abs((m.frameRate ?? 0) - 25) < 0.01)
        #expect(m.formatName?.contains("mp4") == true)

        let stored = try b.layout.absolute(asset.relativePath)
        #expect(try Checksums.sha256(file: stored) == checksum)
        #expect(try Checksums.bytes(stored) == original)
        #expect(try b.catalog.asset(id: asset.id) == asset)
        #expect(b.uploads() == [asset.filename])
        #expect(b.dropEntries.isEmpty)
        #expect(b.staging.isEmpty)
        #expect(try b.catalog.pendingMoves().isEmpty)
        #expect(try b.catalog.assets(status: .processing).isEmpty)
    }

    @Test(
        .timeLimit(.minutes(3)),
        arguments: [
            ("clip.MOV", "video/quicktime", ".mov"),
            ("Take 1.avi", "video/x-msvideo", ".avi"),
            ("nested.mp4", "video/mp4", ".mp4"),
        ]
    )
    func otherContainersAndNames(name: String, mime: String, ext: String) throws {
        let b = try Bench()
        defer { b.remove() }
        let clip = ext == ".avi" ? try b.clips.avi("src.avi", codec: "mpeg4") : try b.clips.h264VideoOnly("src" + ext)
        let relative = name == "nested.mp4" ? "demo/deeper/still/" + name : "demo/" + name
        let source = try b.put(clip, at: relative)
        let asset = try Self.stored(b.ingest(source, project: "demo"))
        #expect(asset.mimeType == mime)
        #expect(asset.filename.hasSuffix(ext))
        #expect(asset.originalFilename == name)
        #expect(asset.metadata?.audioCodec == nil)
        #expect(asset.metadata?.sampleRate == nil)
        #expect(asset.metadata?.videoCodec != nil)
        #expect(try Checksums.bytes(try b.layout.absolute(asset.relativePath)) == (try Checksums.bytes(clip)))
        #expect(fileKind(source) == nil)
    }

    @Test(.timeLimit(.minutes(3)))
    func aNameClashTakesTheNextFreeTimestamp() throws {
        let b = try Bench()
        defer { b.remove() }
        let source = try b.put(try b.clips.h264VideoOnly(), at: "demo/clash.mp4")
        let folder = b.layout.projectPath(.uploads, Fixture.demo)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        // Every name from a moment before now to five seconds ahead is taken by someone else's file.
        let t0 = ISO8601Millis.milliseconds(ISO8601Millis.now())
        let last = t0 + 5000
        for t in (t0 - 5)...last {
            let name = StoredName(project: Fixture.demo, originalFilename: "clash.mp4", timestamp: t).filename
            let fd = open(folder + "/" + name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            #expect(fd >= 0)
            close(fd)
        }
        let asset = try Self.stored(b.ingest(source, project: "demo"))
        try #require(ISO8601Millis.milliseconds(asset.createdAt) <= last, "the ingest started over five seconds late")
        let expected = StoredName(project: Fixture.demo, originalFilename: "clash.mp4", timestamp: last + 1)
        #expect(asset.filename == expected.filename)
        // Nothing was overwritten.
        #expect(b.uploads().count == Int(last - t0 + 6) + 1)
        #expect(try FileOps.lstat(try b.layout.absolute(asset.relativePath))?.size == asset.sizeBytes)
        #expect(b.uploads().filter { (try? FileOps.lstat(folder + "/" + $0)?.size) == 0 }.count == Int(last - t0 + 6))
        #expect(try b.catalog.asset(id: asset.id)?.status == .ready)
    }

    @Test(.timeLimit(.minutes(3)))
    func aStagedUploadIsStored() throws {
        let b = try Bench()
        defer { b.remove() }
        let clip = try b.clips.h264WithAudio()
        let staged = try writeFile(b.layout.stagingPath + "/upload-1234", try Checksums.bytes(clip))
        let checksum = try Checksums.sha256(file: staged)
        let size = Int64(try Checksums.bytes(staged).count)
        let outcome = b.ingestor.ingestUpload(
            staged: staged,
            originalFilename: "My Upload.MP4",
            project: Fixture.demo,
            size: size,
            checksum: checksum,
            policy: IngestPolicy(b.config)
        )
        let asset = try Self.stored(outcome)
        #expect(asset.filename.wholeMatch(of: #/My_Upload-[0-9a-f]{10}\.mp4/#) != nil)
        #expect(asset.originalFilename == "My Upload.MP4")
        #expect(asset.checksum == checksum)
        #expect(asset.sizeBytes == size)
        #expect(asset.status == .ready)
        #expect(try Checksums.sha256(file: try b.layout.absolute(asset.relativePath)) == checksum)
        #expect(b.staging.isEmpty)
        #expect(try b.catalog.pendingMoves().isEmpty)
        #expect(try b.catalog.asset(id: asset.id) == asset)
    }

    @Test(.timeLimit(.minutes(3)))
    func aStagedUploadThatIsNotMediaIsRejected() throws {
        let b = try Bench()
        defer { b.remove() }
        let bytes = patternBytes(10_000)
        let staged = try writeFile(b.layout.stagingPath + "/upload-9", bytes)
        let outcome = b.ingestor.ingestUpload(
            staged: staged,
            originalFilename: "fake.mp4",
            project: Fixture.demo,
            size: Int64(bytes.count),
            checksum: try Checksums.sha256(file: staged),
            policy: IngestPolicy(b.config)
        )
        try Self.expectRejected(outcome, b, reason: .notMedia, name: "fake.mp4", source: staged, bytes: bytes)
        #expect(try b.catalog.allAssets().isEmpty)
    }

    /// A drop on another filesystem (`/dev/shm`): the file is copied while it is hashed, then the source goes.
    @Test(.timeLimit(.minutes(3)), .enabled(if: FileManager.default.fileExists(atPath: "/dev/shm")))
    func aDropOnAnotherFilesystemIsCopiedOnce() throws {
        let b = try Bench()
        defer { b.remove() }
        let shm = "/dev/shm/ingestor-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: shm) }
        let clip = try Checksums.bytes(try b.clips.h264VideoOnly())
        let source = try writeFile(shm + "/demo/far.mp4", clip)
        try #require(try FileOps.lstat(source)?.device != FileOps.lstat(b.layout.stagingPath)?.device)
        let asset = try Self.stored(b.ingest(source, project: "demo"))
        #expect(try Checksums.bytes(try b.layout.absolute(asset.relativePath)) == clip)
        #expect(asset.checksum == (try Checksums.sha256(file: try b.layout.absolute(asset.relativePath))))
        #expect(fileKind(source) == nil)
        #expect(b.staging.isEmpty)
        #expect(try b.catalog.pendingMoves().isEmpty)

        // Content found bad after the copy: the copy is rejected with its bytes and the source goes.
        let garbage = patternBytes(8000)
        let fake = try writeFile(shm + "/demo/fake.mp4", garbage)
        try Self.expectRejected(
            b.ingest(fake, project: "demo"),
            b,
            reason: .notMedia,
            name: "fake.mp4",
            source: fake,
            bytes: garbage
        )
    }

    // MARK: - Rejections

    @Test func extensionNotAllowed() throws {
        let b = try Bench()
        defer { b.remove() }
        let bytes = patternBytes(100)
        let source = try writeFile(b.drop + "/demo/notes.txt", bytes)
        try Self.expectRejected(
            b.ingest(source, project: "demo"),
            b,
            reason: .extensionNotAllowed,
            name: "notes.txt",
            source: source,
            bytes: bytes
        )
        let noExt = try writeFile(b.drop + "/demo/README", bytes)
        try Self.expectRejected(
            b.ingest(noExt, project: "demo"),
            b,
            reason: .extensionNotAllowed,
            name: "README",
            source: noExt,
            bytes: bytes
        )
        #expect(try b.catalog.allAssets().isEmpty)
    }

    @Test(.timeLimit(.minutes(3)))
    func tooLarge() throws {
        var b = try Bench()
        defer { b.remove() }
        b.config.uploadMaxSize = 1000
        let source = try b.put(try b.clips.h264VideoOnly(), at: "demo/big.mp4")
        let bytes = try Checksums.bytes(source)
        try Self.expectRejected(
            b.ingest(source, project: "demo"),
            b,
            reason: .tooLarge,
            name: "big.mp4",
            source: source,
            bytes: bytes
        )
        // Exactly at the limit is allowed.
        b.config.uploadMaxSize = Int64(bytes.count)
        let again = try writeFile(b.drop + "/demo/fits.mp4", bytes)
        #expect(try Self.stored(b.ingest(again, project: "demo")).sizeBytes == Int64(bytes.count))
    }

    @Test func empty() throws {
        let b = try Bench()
        defer { b.remove() }
        let source = try writeFile(b.drop + "/demo/empty.mp4", [])
        try Self.expectRejected(
            b.ingest(source, project: "demo"),
            b,
            reason: .empty,
            name: "empty.mp4",
            source: source,
            bytes: []
        )
    }

    @Test(.timeLimit(.minutes(3)))
    func garbageIsNotMedia() throws {
        let b = try Bench()
        defer { b.remove() }
        let source = try b.put(try b.clips.garbage("fake.mp4"), at: "demo/fake.mp4")
        let bytes = try Checksums.bytes(source)
        try Self.expectRejected(
            b.ingest(source, project: "demo"),
            b,
            reason: .notMedia,
            name: "fake.mp4",
            source: source,
            bytes: bytes
        )
        #expect(try b.catalog.allAssets().isEmpty)
    }

    @Test(.timeLimit(.minutes(3)))
    func anAVIRenamedToMP4IsNotMedia() throws {
        let b = try Bench()
        defer { b.remove() }
        let source = try b.put(try b.clips.avi("disguised.mp4", codec: "mjpeg"), at: "demo/disguised.mp4")
        let bytes = try Checksums.bytes(source)
        try Self.expectRejected(
            b.ingest(source, project: "demo"),
            b,
            reason: .notMedia,
            name: "disguised.mp4",
            source: source,
            bytes: bytes
        )
    }

    @Test(.timeLimit(.minutes(3)))
    func anMP4RenamedToAVIIsNotMedia() throws {
        let b = try Bench()
        defer { b.remove() }
        let source = try b.put(try b.clips.h264VideoOnly(), at: "demo/disguised.avi")
        let bytes = try Checksums.bytes(source)
        try Self.expectRejected(
            b.ingest(source, project: "demo"),
            b,
            reason: .notMedia,
            name: "disguised.avi",
            source: source,
            bytes: bytes
        )
    }

    @Test(.timeLimit(.minutes(3)))
    func audioOnlyIsNoVideo() throws {
        let b = try Bench()
        defer { b.remove() }
        let source = try b.put(try b.clips.audioOnly(), at: "demo/audio.mp4")
        let bytes = try Checksums.bytes(source)
        try Self.expectRejected(
            b.ingest(source, project: "demo"),
            b,
            reason: .noVideo,
            name: "audio.mp4",
            source: source,
            bytes: bytes
        )
    }

    @Test(.timeLimit(.minutes(3)))
    func aPartialCopyIsTruncated() throws {
        let b = try Bench()
        defer { b.remove() }
        let clip = try b.clips.h264WithAudio()
        let half = try b.clips.truncatedCopy(of: clip, named: "half.mp4", fraction: 0.6)
        let source = try b.put(half, at: "demo/half.mp4")
        let bytes = try Checksums.bytes(source)
        #expect(bytes.count == Int(Double(try Checksums.bytes(clip).count) * 0.6))
        try Self.expectRejected(
            b.ingest(source, project: "demo"),
            b,
            reason: .truncated,
            name: "half.mp4",
            source: source,
            bytes: bytes
        )
    }

    @Test func symlinksAreRejectedAsThemselves() throws {
        let b = try Bench()
        defer { b.remove() }
        let target = try writeFile(b.dir.path + "/outside/real.mp4", patternBytes(500))
        try b.dir.folder("drop/demo")
        try b.dir.symlink("drop/demo/link.mp4", to: target)
        let source = b.drop + "/demo/link.mp4"
        try Self.expectRejected(
            b.ingest(source, project: "demo"),
            b,
            reason: .symlink,
            name: "link.mp4",
            source: source,
            bytes: nil,
            kind: "link"
        )
        let moved = b.layout.projectPath(.rejected, Fixture.demo) + "/link.mp4"
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: moved) == target)
        #expect(try Checksums.bytes(target) == patternBytes(500))
    }

    @Test(.timeLimit(.minutes(3)))
    func fifosAreSpecialFilesAndNeverOpened() throws {
        let b = try Bench()
        defer { b.remove() }
        try b.dir.folder("drop/demo")
        try b.dir.fifo("drop/demo/pipe.mp4")
        let source = b.drop + "/demo/pipe.mp4"
        let watch = FIFOWatch(paths: [source, b.layout.projectPath(.rejected, Fixture.demo) + "/pipe.mp4"])
        let outcome = b.ingest(source, project: "demo")
        #expect(watch.finish() == false, "the FIFO was opened")
        try Self.expectRejected(
            outcome,
            b,
            reason: .specialFile,
            name: "pipe.mp4",
            source: source,
            bytes: nil,
            kind: "fifo"
        )
    }

    @Test(.timeLimit(.minutes(3)))
    func hardLinkedFilesAreRejected() throws {
        let b = try Bench()
        defer { b.remove() }
        let source = try b.put(try b.clips.h264VideoOnly(), at: "demo/linked.mp4")
        let bytes = try Checksums.bytes(source)
        let other = b.dir.path + "/elsewhere.mp4"
        #expect(link(source, other) == 0)
        try Self.expectRejected(
            b.ingest(source, project: "demo"),
            b,
            reason: .hardLinks,
            name: "linked.mp4",
            source: source,
            bytes: bytes
        )
        #expect(try Checksums.bytes(other) == bytes)
        #expect(try b.catalog.allAssets().isEmpty)
    }

    @Test(.timeLimit(.minutes(3)))
    func duplicatesAreRejectedWhenTheRuleSaysReject() throws {
        let b = try Bench()
        defer { b.remove() }
        let clip = try b.clips.h264WithAudio()
        let first = try Self.stored(b.ingest(try b.put(clip, at: "demo/a.mp4"), project: "demo"))
        let second = try b.put(clip, at: "demo/b.mp4")
        let outcome = b.ingest(second, project: "demo")
        try Self.expectRejected(
            outcome,
            b,
            reason: .duplicate,
            name: "b.mp4",
            source: second,
            bytes: try Checksums.bytes(clip)
        )
        if case .rejected(let r, _, _) = outcome { #expect(r.detail.contains(first.id)) }
        #expect(try b.catalog.allAssets().map(\.id) == [first.id])
        // The same bytes in another project are not a duplicate.
        let third = try Self.stored(b.ingest(try b.put(clip, at: "other/c.mp4"), project: "other"))
        #expect(third.checksum == first.checksum)
    }

    @Test(.timeLimit(.minutes(3)))
    func duplicatesAreStoredWhenTheRuleSaysKeep() throws {
        var b = try Bench()
        defer { b.remove() }
        b.config.duplicates = .keep
        let clip = try b.clips.h264WithAudio()
        let first = try Self.stored(b.ingest(try b.put(clip, at: "demo/a.mp4"), project: "demo"))
        let second = try Self.stored(b.ingest(try b.put(clip, at: "demo/a.mp4"), project: "demo"))
        #expect(first.checksum == second.checksum)
        #expect(first.id != second.id)
        #expect(first.filename != second.filename)
        #expect(b.uploads().sorted() == [first.filename, second.filename].sorted())
        #expect(try b.catalog.allAssets().count == 2)
    }

    @Test(.timeLimit(.minutes(3)))
    func filesPastTheProjectQuotaAreRejected() throws {
        var b = try Bench()
        defer { b.remove() }
        let one = try b.clips.h264WithAudio("one.mp4")
        let two = try b.clips.h264VideoOnly("two.mp4")
        let sizeOne = Int64(try Checksums.bytes(one).count)
        let sizeTwo = Int64(try Checksums.bytes(two).count)
        b.config.projectQuotaBytes = sizeOne + sizeTwo - 1
        _ = try Self.stored(b.ingest(try b.put(one, at: "demo/one.mp4"), project: "demo"))
        let source = try b.put(two, at: "demo/two.mp4")
        try Self.expectRejected(
            b.ingest(source, project: "demo"),
            b,
            reason: .quotaExceeded,
            name: "two.mp4",
            source: source,
            bytes: try Checksums.bytes(two)
        )
        // Another project has its own quota; exactly reaching it is allowed.
        b.config.projectQuotaBytes = sizeTwo
        _ = try Self.stored(b.ingest(try b.put(two, at: "other/two.mp4"), project: "other"))
    }

    @Test func aProjectThatSanitizesToNothingIsInvalid() throws {
        var b = try Bench()
        defer { b.remove() }
        b.config.defaultProject = "inbox"
        let bytes = patternBytes(300)
        let source = try writeFile(b.drop + "/!!!/clip.mp4", bytes)
        try Self.expectRejected(
            b.ingest(source, project: nil),
            b,
            reason: .invalidProject,
            project: "inbox",
            name: "clip.mp4",
            source: source,
            bytes: bytes
        )
    }

    @Test func rejectedNamesNeverClash() throws {
        let b = try Bench()
        defer { b.remove() }
        for n in 0..<3 {
            let source = try writeFile(b.drop + "/demo/notes.txt", [UInt8(n)])
            try Self.expectRejected(
                b.ingest(source, project: "demo"),
                b,
                reason: .extensionNotAllowed,
                name: n == 0 ? "notes.txt" : "notes-\(n).txt",
                source: source,
                bytes: [UInt8(n)]
            )
        }
    }

    @Test func aVanishedFileIsReportedAsSuch() throws {
        let b = try Bench()
        defer { b.remove() }
        guard case .vanished = b.ingest(b.drop + "/demo/never.mp4", project: "demo") else {
            Issue.record("expected .vanished")
            return
        }
        #expect(b.rejected().isEmpty)
    }

    // MARK: - Recovery

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
    ) throws -> (move: PendingMove, asset: Asset?) {
        let id = UUID().uuidString.lowercased()
        let staging = b.layout.stagingPath + "/" + id + ".mp4"
        if let bytes { try writeFile(staging, bytes) }
        var asset: Asset?
        if record {
            // A placed file's record describes its bytes (recovery compares them with a copied source).
            var a = Fixture.asset(project: "demo", id: id, status: .processing)
            if let fileAtTarget {
                let scratch = try writeFile(b.dir.path + "/scratch-" + id, fileAtTarget)
                a.checksum = try Checksums.sha256(file: scratch)
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
    func aStagedFileGoesBackToTheDrop(stage: PendingMove.Stage) throws {
        let b = try Bench()
        defer { b.remove() }
        let bytes = patternBytes(4000)
        // The drop folder itself is gone too (its owner removed the now empty folder).
        let source = RawPath(b.drop + "/demo/sub/clip.mp4")
        let (_, asset) = try Self.journal(b, source: source, bytes: bytes, stage: stage, record: stage == .placing)
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

    @Test func aFileReturnedToAnOccupiedNameGetsANumberedOne() throws {
        let b = try Bench()
        defer { b.remove() }
        let newer = try writeFile(b.drop + "/demo/clip.mp4", [2, 2, 2])
        try Self.journal(b, source: RawPath(newer), bytes: [1, 1, 1], stage: .staged, record: false)
        _ = try b.ingestor.recover()
        #expect(try Checksums.bytes(newer) == [2, 2, 2])
        #expect(try Checksums.bytes(b.drop + "/demo/clip-1.mp4") == [1, 1, 1])
        #expect(b.staging.isEmpty)
    }

    @Test func aNameThatIsNotUTF8GoesBackByteForByte() throws {
        let b = try Bench()
        defer { b.remove() }
        let source = RawPath(b.drop + "/demo").appending([0x63, 0xFF, 0xFE, 0x2E, 0x6D, 0x70, 0x34])
        #expect(PathCoding.encode(source).hasPrefix("hex:"))
        try Self.journal(b, source: source, bytes: [7, 7], stage: .staged, record: false)
        #expect(try b.ingestor.recover().returnedToDrop == 1)
        #expect(try FileOps.lstat(source)?.size == 2)
    }

    @Test func anInterruptedCopyIsDroppedWhileTheSourceIsStillThere() throws {
        let b = try Bench()
        defer { b.remove() }
        let source = try writeFile(b.drop + "/demo/far.mp4", [1, 2, 3, 4])
        try Self.journal(b, source: RawPath(source), bytes: [1, 2], stage: .copying, record: false)
        let summary = try b.ingestor.recover()
        #expect(summary.returnedToDrop == 1)
        #expect(try Checksums.bytes(source) == [1, 2, 3, 4])
        #expect(b.dropEntries == ["demo/far.mp4"])
        #expect(b.staging.isEmpty)
        #expect(try b.catalog.pendingMoves().isEmpty)
    }

    @Test func aPlacedCopyLosesItsSourceAndIsFinished() throws {
        let b = try Bench()
        defer { b.remove() }
        let source = try writeFile(b.drop + "/demo/far.mp4", [5, 6])
        let (_, asset) = try Self.journal(
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
    @Test func aPlacedCopysNameHoldingAnotherFileKeepsIt() throws {
        let b = try Bench()
        defer { b.remove() }
        let source = try writeFile(b.drop + "/demo/GOPR0001.MP4", [9, 9, 9])
        let (_, asset) = try Self.journal(
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

    @Test func aPlacedFileIsFinished() throws {
        let b = try Bench()
        defer { b.remove() }
        let bytes = patternBytes(2500)
        let source = RawPath(b.drop + "/demo/clip.mp4")
        let (_, asset) = try Self.journal(
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
    @Test func everyFileEndsUpExactlyOnce() throws {
        let b = try Bench()
        defer { b.remove() }
        var expectedInDrop: [[UInt8]] = []
        var expectedInUploads: [[UInt8]] = []
        for n in 0..<3 {
            let bytes = patternBytes(1000 + n, seed: UInt64(n + 1))
            try Self.journal(
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
            try Self.journal(
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
            try Self.journal(
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
    func aFileReturnedByRecoveryIngestsNormally() throws {
        let b = try Bench()
        defer { b.remove() }
        let clip = try Checksums.bytes(try b.clips.h264VideoOnly())
        let source = RawPath(b.drop + "/demo/back.mp4")
        try Self.journal(b, source: source, bytes: clip, stage: .staged, record: false)
        _ = try b.ingestor.recover()
        let asset = try Self.stored(b.ingest(source.description, project: "demo"))
        #expect(asset.originalFilename == "back.mp4")
        #expect(try Checksums.bytes(try b.layout.absolute(asset.relativePath)) == clip)
    }
}
