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
    func aValidClipIsStoredWithAReadyRecord() async throws {
        let b = try Bench()
        defer { b.remove() }
        let source = try b.put(try await b.clips.h264WithAudio(), at: "demo/lesson.mp4")
        let checksum = try await Checksums.sha256(file: source)
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
        #expect(try await Checksums.sha256(file: stored) == checksum)
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
    func otherContainersAndNames(name: String, mime: String, ext: String) async throws {
        let b = try Bench()
        defer { b.remove() }
        let clip =
            ext == ".avi"
            ? try await b.clips.avi("src.avi", codec: "mpeg4") : try await b.clips.h264VideoOnly("src" + ext)
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
    func aNameClashTakesTheNextFreeTimestamp() async throws {
        let b = try Bench()
        defer { b.remove() }
        let source = try b.put(try await b.clips.h264VideoOnly(), at: "demo/clash.mp4")
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
    func aStagedUploadIsStored() async throws {
        let b = try Bench()
        defer { b.remove() }
        let clip = try await b.clips.h264WithAudio()
        let staged = try writeFile(b.layout.stagingPath + "/upload-1234", try Checksums.bytes(clip))
        let checksum = try await Checksums.sha256(file: staged)
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
        #expect(try await Checksums.sha256(file: try b.layout.absolute(asset.relativePath)) == checksum)
        #expect(b.staging.isEmpty)
        #expect(try b.catalog.pendingMoves().isEmpty)
        #expect(try b.catalog.asset(id: asset.id) == asset)
    }

    @Test(.timeLimit(.minutes(3)))
    func aStagedUploadThatIsNotMediaIsRejected() async throws {
        let b = try Bench()
        defer { b.remove() }
        let bytes = patternBytes(10_000)
        let staged = try writeFile(b.layout.stagingPath + "/upload-9", bytes)
        let outcome = b.ingestor.ingestUpload(
            staged: staged,
            originalFilename: "fake.mp4",
            project: Fixture.demo,
            size: Int64(bytes.count),
            checksum: try await Checksums.sha256(file: staged),
            policy: IngestPolicy(b.config)
        )
        try Self.expectRejected(outcome, b, reason: .notMedia, name: "fake.mp4", source: staged, bytes: bytes)
        #expect(try b.catalog.allAssets().isEmpty)
    }

    /// A drop on another filesystem (`/dev/shm`): the file is copied while it is hashed, then the source goes.
    @Test(.timeLimit(.minutes(3)), .enabled(if: FileManager.default.fileExists(atPath: "/dev/shm")))
    func aDropOnAnotherFilesystemIsCopiedOnce() async throws {
        let b = try Bench()
        defer { b.remove() }
        let shm = "/dev/shm/ingestor-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: shm) }
        let clip = try Checksums.bytes(try await b.clips.h264VideoOnly())
        let source = try writeFile(shm + "/demo/far.mp4", clip)
        try #require(try FileOps.lstat(source)?.device != FileOps.lstat(b.layout.stagingPath)?.device)
        let asset = try Self.stored(b.ingest(source, project: "demo"))
        #expect(try Checksums.bytes(try b.layout.absolute(asset.relativePath)) == clip)
        #expect(asset.checksum == (try await Checksums.sha256(file: try b.layout.absolute(asset.relativePath))))
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
}
