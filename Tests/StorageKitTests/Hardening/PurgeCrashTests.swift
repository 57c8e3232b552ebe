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
        var drop: String { dir.path + "/drop" }

        init(_ backend: TestBackend) async throws {
            dir = try TempDir("purge-crash")
            layout = StorageLayout(root: dir.path + "/storage")
            try layout.createCategoryFolders()
            clips = try ClipFactory()
            self.backend = backend
            url = backend == .postgres ? try PostgresTestServer.freshDatabase() : nil
            catalog = try Self.open(layout: layout, url: url, node: "node-a")
            try FileManager.default.createDirectory(atPath: drop, withIntermediateDirectories: true)

            let video = try await clips.h264VideoOnly()
            let audio = try await clips.h264WithAudio()
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

        let restarted = try site.reopen()
        _ = try Ingestor(layout: site.layout, catalog: restarted, logger: Self.quiet).recover()
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
}
