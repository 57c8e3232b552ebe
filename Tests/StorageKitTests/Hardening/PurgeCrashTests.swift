import Foundation
import IngestConfig
import Logging
import Testing

@testable import StorageKit

/// Audit of 2026-12: a purge cut short by a crash, once its records were gone, was neither finished nor rolled
/// back, and `repair` recorded the purged files again. Each test stops a purge at a chosen step (as a crash
/// would: the step throws), then starts afresh on the same storage and catalog.
@Suite(.timeLimit(.minutes(3)))
struct PurgeCrashTests {
    struct SimulatedCrash: Error {}

    static let k3 = ProjectID(exactly: "k3")!
    static let other = ProjectID(exactly: "other")!
    static let quiet = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }

    /// Storage with project `k3` (two stored clips with a thumbnail and processed files each, two rejected files,
    /// an export) and project `other` (one stored clip), on a catalog of `backend` that a fresh start can open
    /// again.
    struct Site {
        let dir: TempDir
        let layout: StorageLayout
        let clips: ClipFactory
        let backend: TestBackend
        /// The PostgreSQL database's URL (nil for SQLite, whose file is under `layout`).
        let url: String?
        let catalog: Catalog
        /// A clip without audio (stored as `k3/a.mp4`) and one with (`k3/b.mp4`, `other/kept.mp4`).
        let video: String
        let audio: String
        var drop: String { dir.path + "/drop" }

        init(_ backend: TestBackend) async throws {
            dir = try TempDir("purge-crash")
            layout = StorageLayout(root: dir.path + "/storage")
            try layout.createCategoryFolders()
            clips = try ClipFactory()
            self.backend = backend
            url = backend == .postgres ? try PostgresTestServer.freshDatabase() : nil
            catalog = try Self.open(layout: layout, url: url, node: "node-a")
            video = try await clips.h264VideoOnly()
            audio = try await clips.h264WithAudio()
            try FileManager.default.createDirectory(atPath: drop, withIntermediateDirectories: true)

            let ingestor = Ingestor(layout: layout, catalog: catalog, logger: PurgeCrashTests.quiet)
            for (name, clip, project) in [
                ("a.mp4", video, "k3"), ("b.mp4", audio, "k3"), ("again.mp4", video, "k3"),
                ("kept.mp4", audio, "other"),
            ] {
                let source = try writeFile(drop + "/" + project + "/" + name, try Checksums.bytes(clip))
                _ = ingestor.ingestDropped(
                    source: RawPath(source),
                    project: ProjectID(exactly: project),
                    policy: IngestPolicy(IngestConfiguration())
                )
            }
            let notes = try writeFile(drop + "/k3/notes.txt", Array("not a video".utf8))
            _ = ingestor.ingestDropped(
                source: RawPath(notes),
                project: PurgeCrashTests.k3,
                policy: IngestPolicy(IngestConfiguration())
            )
            // Derived files, as the pipeline makes them.
            for asset in try catalog.allAssets() {
                let project = ProjectID(exactly: asset.projectID)!
                _ = try writeFile(
                    layout.projectPath(.thumbnails, project) + "/" + ThumbnailNaming.name(forStored: asset.filename),
                    patternBytes(300)
                )
                let processed =
                    layout.projectPath(.processed, project) + "/"
                    + ProcessedStore.folderName(forStored: asset.filename)
                _ = try writeFile(processed + "/720p.mp4", patternBytes(700))
                _ = try writeFile(processed + "/sprite.jpg", patternBytes(70))
            }
            _ = try writeFile(layout.projectPath(.exports, PurgeCrashTests.k3) + "/cut/final.mp4", patternBytes(50))
        }

        static func open(layout: StorageLayout, url: String?, node: String) throws -> Catalog {
            guard let url else { return try Catalog.open(layout: layout, nodeID: node) }
            return try Catalog.open(url: url, layout: layout, nodeID: node, poolSize: 4)
        }

        /// The catalog as a fresh start (of this node, or of `node`) opens it.
        func reopen(node: String = "node-a") throws -> Catalog { try Self.open(layout: layout, url: url, node: node) }

        /// Ingests a copy of `clip` dropped as `project/name` with `catalog`, as a node does.
        @discardableResult
        func ingest(_ clip: String, as name: String, into project: ProjectID, catalog: Catalog) throws -> IngestOutcome
        {
            let source = try writeFile(drop + "/" + project.rawValue + "/" + name, try Checksums.bytes(clip))
            return Ingestor(layout: layout, catalog: catalog, logger: PurgeCrashTests.quiet).ingestDropped(
                source: RawPath(source),
                project: project,
                policy: IngestPolicy(IngestConfiguration())
            )
        }

        /// Paths of every file and folder below `project`'s folders, relative to the storage root.
        func entries(of project: ProjectID) -> [String] {
            StorageCategory.perProject.flatMap { category -> [String] in
                let folder = layout.projectPath(category, project)
                guard FileManager.default.fileExists(atPath: folder) else { return [] }
                let below = FileManager.default.subpaths(atPath: folder) ?? []
                return [category.rawValue + "/project_" + project.rawValue] + below.map { category.rawValue + "/" + $0 }
            }
        }

        func remove() {
            dir.remove()
            clips.remove()
        }
    }

    /// Stops a purge of `k3` at `step`.
    static func interruptedPurge(_ site: Site, at step: ProjectPurge.Step) {
        #expect(throws: SimulatedCrash.self) {
            try ProjectPurge.purge(project: k3, layout: site.layout, catalog: site.catalog) { reached in
                if reached == step { throw SimulatedCrash() }
            }
        }
    }

    static let steps: [ProjectPurge.Step] = [.recordsRemoved, .cleared(.uploads), .cleared(.processed)]

    /// The purge is finished by the next start-up alone: every file and folder of `k3` is gone, `other` is as it
    /// was, and `repair` (dry run or not) records nothing again.
    @Test(arguments: TestBackend.all, steps)
    func theNextStartFinishesAPurgeCutShort(backend: TestBackend, step: ProjectPurge.Step) async throws {
        let site = try await Site(backend)
        defer { site.remove() }
        let otherRecords = try site.catalog.list(project: Self.other, limit: nil, after: nil)
        let otherEntries = site.entries(of: Self.other)
        #expect(try site.catalog.list(project: Self.k3, limit: nil, after: nil).count == 2)
        #expect(site.entries(of: Self.k3).contains("rejected/again.mp4"))

        Self.interruptedPurge(site, at: step)
        #expect(!site.entries(of: Self.k3).isEmpty, "the crash left files behind")

        // The same node's restart, or (the last step) another node's start-up: any node finishes it.
        let restarted = try site.reopen(node: step == Self.steps.last ? "node-b" : "node-a")
        let recovery = try Ingestor(layout: site.layout, catalog: restarted, logger: Self.quiet).recover()
        #expect(recovery.purgesFinished.map(\.projectID) == ["k3"])
        #expect(try restarted.pendingPurges() == [])
        #expect(site.entries(of: Self.k3) == [], "the start-up finished the purge")
        #expect(try restarted.list(project: Self.k3, limit: nil, after: nil) == [])
        #expect(try restarted.list(project: Self.other, limit: nil, after: nil) == otherRecords)
        #expect(site.entries(of: Self.other) == otherEntries)

        for dryRun in [true, false] {
            let repair = try Repair.run(layout: site.layout, catalog: restarted, dryRun: dryRun, logger: Self.quiet)
            #expect(repair.recordsCreated == 0, "dry run \(dryRun): nothing of k3 is recorded again")
            #expect(repair.unreadableFiles == [])
        }
        #expect(try restarted.list(project: Self.k3, limit: nil, after: nil) == [])
    }

    /// Before the next start, `repair --dry-run` of the audit said it would record the purged files again: a
    /// project whose purge is pending is left out (and the real run finishes the purge first).
    @Test(arguments: TestBackend.all)
    func repairNeverRecordsTheFilesOfAPendingPurge(backend: TestBackend) async throws {
        let site = try await Site(backend)
        defer { site.remove() }
        Self.interruptedPurge(site, at: .recordsRemoved)
        #expect(try site.catalog.pendingPurges().map(\.projectID) == ["k3"])
        let left = site.entries(of: Self.k3)

        let dryRun = try Repair.run(layout: site.layout, catalog: site.catalog, dryRun: true, logger: Self.quiet)
        #expect(dryRun.recordsCreated == 0)
        #expect(dryRun.orphanThumbnailsRemoved == 0)
        #expect(site.entries(of: Self.k3) == left, "a dry run changes nothing")

        let repair = try Repair.run(layout: site.layout, catalog: site.catalog, dryRun: false, logger: Self.quiet)
        #expect(repair.recordsCreated == 0)
        #expect(site.entries(of: Self.k3) == [], "repair finished the purge")
        #expect(try site.catalog.pendingPurges() == [])
        #expect(try site.catalog.list(project: Self.k3, limit: nil, after: nil) == [])
    }

    /// Files that reach the project after the purge began (ingested, here by a node that kept running, or
    /// rejected) are new files: finishing the purge leaves them and their records alone.
    @Test(arguments: TestBackend.all)
    func filesArrivingAfterThePurgeAreKept(backend: TestBackend) async throws {
        let site = try await Site(backend)
        defer { site.remove() }
        Self.interruptedPurge(site, at: .recordsRemoved)
        // The purge's instant and the rejection's must differ on the filesystem's (coarse) clock.
        try await Task.sleep(for: .milliseconds(50))
        let later = try IngestorTests.stored(
            site.ingest(site.video, as: "later.mp4", into: Self.k3, catalog: site.catalog)
        )
        let note = try site.ingest(site.audio, as: "later.txt", into: Self.k3, catalog: site.catalog)
        guard case .rejected = note else {
            Issue.record("later.txt is rejected, not \(note)")
            return
        }

        let restarted = try site.reopen()
        let recovery = try Ingestor(layout: site.layout, catalog: restarted, logger: Self.quiet).recover()
        #expect(recovery.purgesFinished.map(\.projectID) == ["k3"])
        #expect(try restarted.pendingPurges() == [])
        #expect(try restarted.list(project: Self.k3, limit: nil, after: nil) == [later])
        #expect(
            Set(site.entries(of: Self.k3)) == [
                "uploads/project_k3", "uploads/" + later.filename,
                "rejected/project_k3", "rejected/later.txt", "rejected/later.txt.reason.json",
            ]
        )
    }

    /// A purge that is running is left alone by another node's start-up and repair (by this node's repair on
    /// SQLite, which has one node): they neither finish it under its feet nor record its files, and its answer
    /// still equals the project's statistics just before. Its journal entry goes with its files.
    @Test(arguments: TestBackend.all)
    func aRunningPurgeIsLeftAloneByOtherFinishers(backend: TestBackend) async throws {
        let site = try await Site(backend)
        defer { site.remove() }
        let before = try StorageStatistics.compute(layout: site.layout, project: Self.k3).categories.values
        let peer = backend == .postgres ? try site.reopen(node: "node-b") : site.catalog
        let seen = LockedBox<(RecoverySummary, RepairSummary)?>(nil)
        let summary = try ProjectPurge.purge(project: Self.k3, layout: site.layout, catalog: site.catalog) { step in
            guard step == .recordsRemoved else { return }
            let left = site.entries(of: Self.k3)
            let recovery = try Ingestor(layout: site.layout, catalog: peer, logger: Self.quiet).recover()
            let repair = try Repair.run(layout: site.layout, catalog: peer, dryRun: false, logger: Self.quiet)
            #expect(site.entries(of: Self.k3) == left, "nothing of the running purge was touched")
            seen.value = (recovery, repair)
        }
        #expect(seen.value?.0.purgesFinished == [])
        #expect(seen.value?.1.recordsCreated == 0)
        #expect(seen.value?.1.orphanThumbnailsRemoved == 0)
        #expect(summary.filesRemoved == before.reduce(0) { $0 + $1.fileCount })
        #expect(summary.bytesFreed == before.reduce(0) { $0 + $1.bytes })
        #expect(site.entries(of: Self.k3) == [])
        #expect(try site.catalog.pendingPurges() == [])
        #expect(try peer.list(project: Self.k3, limit: nil, after: nil) == [])
    }
}

/// The start a purge journals is read off the storage's own clock, the clock that stamps the files it is later
/// compared with (review: a node whose clock ran 30 s ahead had its interrupted purge, finished by another node,
/// remove a file rejected 3 s after the purge).
struct PurgeStartClockTests {
    @Test func theStorageClockIsAFreshFilesChangeTime() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("clock-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let asked = try #require(ProjectPurge.storageClockNow(folder))
        #expect(FileManager.default.createFile(atPath: folder + "/later", contents: Data("x".utf8)))
        let later = try #require(try FileOps.lstat(folder + "/later"))
        let laterMillis = later.ctimeNanos / 1_000_000
        #expect(ISO8601Millis.milliseconds(asked) <= laterMillis)
        #expect(laterMillis - ISO8601Millis.milliseconds(asked) < 1_000)
        // Nothing is left behind, and a folder that cannot take a file gives nil (the caller uses its own clock).
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == ["later"])
        #expect(ProjectPurge.storageClockNow(folder + "/missing") == nil)
    }
}
