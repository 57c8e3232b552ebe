import Foundation
import Testing

@testable import StorageKit

struct ProjectPurgeTests {
    struct Setup {
        let dir: TempDir
        let outside: TempDir
        let layout: StorageLayout
        let catalog: Catalog
        let a = ProjectID(exactly: "a")!
        let b = ProjectID(exactly: "b")!

        init() throws {
            dir = try TempDir()
            outside = try TempDir("outside")
            layout = StorageLayout(root: dir.path + "/storage")
            try layout.createCategoryFolders()
            catalog = try Catalog.open(layout: layout)
        }

        func file(_ relative: String, size: Int) throws { try dir.file("storage/" + relative, size: size) }
        func exists(_ relative: String) -> Bool { dir.exists("storage/" + relative) }
        func cleanUp() {
            dir.remove()
            outside.remove()
        }
    }

    @Test func removesEveryFileFolderAndRecordOfTheProjectOnly() throws {
        let s = try Setup()
        defer { s.cleanUp() }
        try s.outside.file("precious.mp4", size: 4_321)
        try s.outside.file("folder/keep.txt", size: 9)
        try s.file("uploads/project_a/one-0123456789.mp4", size: 1_000)
        try s.file("uploads/project_a/nested/two.mp4", size: 2_000)
        try s.file("thumbnails/project_a/one-0123456789.jpg", size: 300)
        try s.file("processed/project_a/t.mp4", size: 40)
        try s.file("exports/project_a/e.mp4", size: 5)
        try s.file("music/project_a/m.aac", size: 6)
        try s.file("rejected/project_a/bad.txt", size: 7)
        try s.file("rejected/project_a/bad.txt.reason.json", size: 80)
        try s.dir.folder("storage/exports/project_a/empty/deeper")
        // Links inside a's folders: to b's file, to a file and a folder outside storage.
        try s.file("uploads/project_b/b.mp4", size: 11)
        let toB = s.layout.root + "/uploads/project_b/b.mp4"
        let toOutside = s.outside.path + "/precious.mp4"
        let toOutsideDir = s.outside.path + "/folder"
        try s.dir.symlink("storage/uploads/project_a/link-to-b.mp4", to: toB)
        try s.dir.symlink("storage/uploads/project_a/link-out.mp4", to: toOutside)
        try s.dir.symlink("storage/rejected/project_a/link-dir", to: toOutsideDir)
        try s.dir.fifo("storage/rejected/project_a/pipe")
        // b's other files and the shared metadata stay.
        try s.file("thumbnails/project_b/b.jpg", size: 12)
        try s.file("rejected/project_b/x.txt", size: 13)
        try s.file("uploads/project_ab/similar-name.mp4", size: 14)

        let aAssets = [Fixture.asset(project: "a"), Fixture.asset(project: "a", status: .failed, error: "x")]
        let bAsset = Fixture.asset(project: "b")
        try s.catalog.insertBatch(aAssets + [bAsset])

        let before = try StorageStatistics.compute(layout: s.layout, project: s.a).categories.values
        let summary = try ProjectPurge.purge(project: s.a, layout: s.layout, catalog: s.catalog)
        #expect(summary.projectID == "a")
        // Regular files, as statistics count them (audit of 2026-12-07: the three links and the FIFO, removed
        // too, made the answer differ from the statistics of a moment before).
        #expect(summary.filesRemoved == 8)
        #expect(summary.bytesFreed == 1_000 + 2_000 + 300 + 40 + 5 + 6 + 7 + 80)
        #expect(summary.filesRemoved == before.reduce(0) { $0 + $1.fileCount })
        #expect(summary.bytesFreed == before.reduce(0) { $0 + $1.bytes })

        for category in StorageCategory.perProject {
            #expect(!s.exists("\(category.rawValue)/project_a"), "\(category) folder of a is gone")
            #expect(s.exists(category.rawValue), "\(category) itself stays")
        }
        #expect(s.exists("uploads/project_b/b.mp4"))
        #expect(s.exists("thumbnails/project_b/b.jpg"))
        #expect(s.exists("rejected/project_b/x.txt"))
        #expect(s.exists("uploads/project_ab/similar-name.mp4"))
        #expect(s.exists("metadata/catalog.sqlite"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: toOutside)).count == 4_321)
        #expect(s.outside.exists("folder/keep.txt"))

        #expect(try s.catalog.list(project: s.a, limit: nil, after: nil) == [])
        #expect(try s.catalog.allAssets() == [bAsset])
        #expect(
            try StorageStatistics.compute(layout: s.layout, project: s.a).categories.values.allSatisfy { $0 == .zero }
        )
    }

    @Test func aProjectFolderThatIsASymlinkIsUnlinkedNotFollowed() throws {
        let s = try Setup()
        defer { s.cleanUp() }
        try s.file("uploads/project_b/b.mp4", size: 11)
        try s.dir.symlink("storage/uploads/project_a", to: s.layout.root + "/uploads/project_b")
        try s.outside.file("elsewhere/keep.bin", size: 3)
        try s.dir.symlink("storage/rejected/project_a", to: s.outside.path + "/elsewhere")
        let summary = try ProjectPurge.purge(project: s.a, layout: s.layout, catalog: s.catalog)
        #expect(summary.filesRemoved == 0, "two links, removed as links, and no regular file of the project")
        #expect(!s.exists("uploads/project_a") && !s.exists("rejected/project_a"))
        #expect(s.exists("uploads/project_b/b.mp4"))
        #expect(s.outside.exists("elsewhere/keep.bin"))
    }

    @Test func namesThatAreNotUTF8AreRemovedToo() throws {
        let s = try Setup()
        defer { s.cleanUp() }
        try s.dir.folder("storage/rejected/project_a")
        // "bad\xff.mp4": created through the raw bytes, as a user's upload might be named.
        let raw: [CChar] =
            Array((s.layout.root + "/rejected/project_a/bad").utf8CString.dropLast()) + [-1] + Array(".mp4".utf8CString)
        let fd = open(raw, O_CREAT | O_WRONLY | O_EXCL, 0o644)
        #expect(fd >= 0)
        _ = write(fd, "12345", 5)
        close(fd)
        let summary = try ProjectPurge.purge(project: s.a, layout: s.layout, catalog: s.catalog)
        #expect(summary == PurgeSummary(projectID: "a", filesRemoved: 1, bytesFreed: 5))
        #expect(!s.exists("rejected/project_a"))
    }

    @Test func anUnknownProjectOrMissingFoldersPurgeToZero() throws {
        let s = try Setup()
        defer { s.cleanUp() }
        try FileManager.default.removeItem(atPath: s.layout.categoryPath(.music))
        let summary = try ProjectPurge.purge(
            project: ProjectID(exactly: "ghost")!,
            layout: s.layout,
            catalog: s.catalog
        )
        #expect(summary == PurgeSummary(projectID: "ghost", filesRemoved: 0, bytesFreed: 0))
    }

    /// Audit of 2026-12-07: a purge told followers of one project-level `deleted` event, so that one tracking
    /// assets never learned that the project's assets were gone. Each record's removal is an event now, written
    /// with it; purging a project with no record tells nothing.
    @Test func everyRecordAPurgeRemovesIsAnnouncedWithIt() throws {
        let s = try Setup()
        defer { s.cleanUp() }
        let aAssets = [Fixture.asset(project: "a"), Fixture.asset(project: "a")]
        try s.catalog.insertBatch(aAssets + [Fixture.asset(project: "b")])
        let summary = try ProjectPurge.purge(project: s.a, layout: s.layout, catalog: s.catalog)
        #expect(summary.recordsRemoved == 2)
        let events = try s.catalog.events(after: 0, limit: 10)
        #expect(events.map(\.type) == [.deleted, .deleted])
        #expect(Set(events.compactMap(\.assetID)) == Set(aAssets.map(\.id)))
        #expect(events.allSatisfy { $0.projectID == "a" })

        _ = try ProjectPurge.purge(project: ProjectID(exactly: "ghost")!, layout: s.layout, catalog: s.catalog)
        #expect(try s.catalog.events(after: 0, limit: 10).count == 2)
    }

    @Test func summaryJSONKeys() throws {
        let json = String(
            decoding: try {
                let e = JSONEncoder()
                e.outputFormatting = .sortedKeys
                return try e.encode(PurgeSummary(projectID: "demo", filesRemoved: 3, bytesFreed: 1_024))
            }(),
            as: UTF8.self
        )
        #expect(json == #"{"bytes_freed":1024,"files_removed":3,"project_id":"demo"}"#)
    }
}
