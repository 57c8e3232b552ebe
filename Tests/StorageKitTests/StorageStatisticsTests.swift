import Foundation
import Testing

@testable import StorageKit

struct StorageStatisticsTests {
    /// A storage tree with known sizes, nested folders, and entries that must not count.
    static func makeTree(_ dir: TempDir) throws -> (layout: StorageLayout, outside: TempDir) {
        let outside = try TempDir("outside")
        try outside.file("big.bin", size: 5_000_000)
        try outside.file("folder/inner.bin", size: 777)
        try dir.file("storage/uploads/project_a/one.mp4", size: 1_048_576)
        try dir.file("storage/uploads/project_a/two.mov", size: 524_288)
        try dir.file("storage/uploads/project_a/deep/er/three.avi", size: 1_000)
        try dir.file("storage/uploads/project_b/b.mp4", size: 10)
        try dir.file("storage/uploads/loose.bin", size: 3)
        try dir.file("storage/uploads/project_a/empty.mp4", size: 0)
        try dir.file("storage/thumbnails/project_a/one.jpg", size: 20_480)
        try dir.file("storage/rejected/project_a/bad.txt", size: 12)
        try dir.file("storage/rejected/project_a/bad.txt.reason.json", size: 90)
        try dir.file("storage/metadata/catalog.sqlite", size: 8_192)
        try dir.folder("storage/exports/project_a/empty-folder")
        try dir.folder("storage/music")
        // Must not count: symlinks (to a file, to a folder, dangling), a FIFO.
        try dir.symlink("storage/uploads/project_a/link.mp4", to: outside.path + "/big.bin")
        try dir.symlink("storage/uploads/project_a/linkdir", to: outside.path + "/folder")
        try dir.symlink("storage/uploads/project_b/dangling", to: "/nonexistent/x")
        try dir.fifo("storage/uploads/project_a/pipe")
        // processed/ is missing altogether.
        return (StorageLayout(root: dir.path + "/storage"), outside)
    }

    /// An independent walk: FileManager's enumerator with lstat-based types.
    static func referenceWalk(_ path: String) -> CategoryUsage {
        guard let e = FileManager.default.enumerator(atPath: path) else { return .zero }
        var bytes: Int64 = 0
        var count = 0
        while let rel = e.nextObject() as? String {
            var info = stat()
            guard lstat(path + "/" + rel, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { continue }
            bytes += Int64(info.st_size)
            count += 1
        }
        return CategoryUsage(bytes: bytes, fileCount: count)
    }

    @Test func globalFiguresEqualAWalkOfTheDisk() throws {
        let dir = try TempDir()
        let (layout, outside) = try Self.makeTree(dir)
        defer {
            dir.remove()
            outside.remove()
        }
        let stats = try StorageStatistics.compute(layout: layout)
        #expect(stats.root == layout.root)
        #expect(stats.projectID == nil)
        #expect(Set(stats.categories.keys) == Set(StorageCategory.allCases.map(\.rawValue)))
        #expect(stats.categories["uploads"] == CategoryUsage(bytes: 1_048_576 + 524_288 + 1_000 + 10 + 3, fileCount: 6))
        #expect(stats.categories["thumbnails"] == CategoryUsage(bytes: 20_480, fileCount: 1))
        #expect(stats.categories["rejected"] == CategoryUsage(bytes: 102, fileCount: 2))
        #expect(stats.categories["metadata"] == CategoryUsage(bytes: 8_192, fileCount: 1))
        #expect(stats.categories["processed"] == .zero)
        #expect(stats.categories["exports"] == .zero)
        #expect(stats.categories["music"] == .zero)
        for category in StorageCategory.allCases {
            #expect(
                stats.categories[category.rawValue] == Self.referenceWalk(layout.categoryPath(category)),
                "\(category)"
            )
        }
    }

    @Test func perProjectFiguresHaveProjectIDAndZeroMetadata() throws {
        let dir = try TempDir()
        let (layout, outside) = try Self.makeTree(dir)
        defer {
            dir.remove()
            outside.remove()
        }
        let a = ProjectID(exactly: "a")!
        let stats = try StorageStatistics.compute(layout: layout, project: a)
        #expect(stats.projectID == "a")
        #expect(stats.categories["uploads"] == CategoryUsage(bytes: 1_048_576 + 524_288 + 1_000, fileCount: 4))
        #expect(stats.categories["metadata"] == .zero)
        #expect(stats.categories["rejected"] == CategoryUsage(bytes: 102, fileCount: 2))
        for category in StorageCategory.perProject {
            #expect(stats.categories[category.rawValue] == Self.referenceWalk(layout.projectPath(category, a)))
        }
        let b = try StorageStatistics.compute(layout: layout, project: ProjectID(exactly: "b")!)
        #expect(b.categories["uploads"] == CategoryUsage(bytes: 10, fileCount: 1))
        let none = try StorageStatistics.compute(layout: layout, project: ProjectID(exactly: "nobody")!)
        #expect(none.categories.values.allSatisfy { $0 == .zero } && none.categories.count == 7)

        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(stats)) as? [String: Any]
        #expect(json?["project_id"] as? String == "a")
        let uploads = (json?["categories"] as? [String: Any])?["uploads"] as? [String: Any]
        #expect(Set(uploads?.keys.map { $0 } ?? []) == ["bytes", "megabytes", "file_count"])
    }

    @Test func globalJSONLeavesOutProjectID() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let stats = try StorageStatistics.compute(layout: StorageLayout(root: dir.path + "/missing-root"))
        #expect(stats.categories.count == 7 && stats.categories.values.allSatisfy { $0 == .zero })
        let json = String(decoding: try JSONEncoder().encode(stats), as: UTF8.self)
        #expect(!json.contains("project_id"))
        #expect(json.contains(#""file_count":0"#))
    }

    @Test func aSymlinkedCategoryFolderIsNotFollowed() throws {
        let dir = try TempDir()
        let outside = try TempDir("outside")
        defer {
            dir.remove()
            outside.remove()
        }
        try outside.file("project_a/x.mp4", size: 100)
        try dir.folder("storage")
        try dir.symlink("storage/uploads", to: outside.path)
        let layout = StorageLayout(root: dir.path + "/storage")
        #expect(try StorageStatistics.compute(layout: layout).categories["uploads"] == .zero)
        #expect(
            try StorageStatistics.compute(layout: layout, project: ProjectID(exactly: "a")!).categories["uploads"]
                == .zero
        )
    }

    @Test(arguments: [
        (Int64(0), 0.0), (1_048_576, 1.0), (1_572_864, 1.5), (10_486, 0.01), (5_242, 0.0), (5_243, 0.01),
        (1_053_818, 1.0), (1_054_867, 1.01), (107_374_182_400, 102_400.0), (123_456_789, 117.74),
    ])
    func megabytesAreRoundedToTwoDecimals(bytes: Int64, expected: Double) {
        #expect(CategoryUsage(bytes: bytes, fileCount: 1).megabytes == expected)
    }

    @Test func megabytesPrintShort() throws {
        func json(_ bytes: Int64) throws -> String {
            String(decoding: try JSONEncoder().encode(CategoryUsage(bytes: bytes, fileCount: 1)), as: UTF8.self)
        }
        #expect(try json(1_572_864).contains(#""megabytes":1.5"#))
        #expect(try json(10_486).contains(#""megabytes":0.01"#))
        #expect(try json(0).contains(#""megabytes":0"#))
        // Every size in a sweep prints with at most two decimals.
        for bytes in stride(from: Int64(0), to: 30_000_000, by: 7_919) {
            let text = try json(bytes)
            let start = text.range(of: #""megabytes":"#)!.upperBound
            let value = text[start...].prefix { $0.isNumber || $0 == "." }
            let decimals = value.split(separator: ".").dropFirst().first?.count ?? 0
            #expect(decimals <= 2, "\(bytes) bytes printed as \(value)")
        }
    }
}

struct DiskWalkerTests {
    @Test func listsRegularFilesWithRelativePathsAndSizes() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        try dir.file("a.bin", size: 5)
        try dir.file("sub/b.bin", size: 6)
        try dir.file("sub/deeper/c.bin", size: 7)
        try dir.symlink("sub/link", to: dir.path + "/a.bin")
        try dir.fifo("sub/deeper/fifo")
        let files = try DiskWalker.files(below: dir.path)
        #expect(
            files == [
                .init(relativePath: "a.bin", size: 5), .init(relativePath: "sub/b.bin", size: 6),
                .init(relativePath: "sub/deeper/c.bin", size: 7),
            ]
        )
        #expect(try DiskWalker.totals(below: dir.path) == .init(bytes: 18, fileCount: 3))
        #expect(try DiskWalker.totals(below: dir.path + "/nope") == .init())
        #expect(try DiskWalker.totals(below: dir.path + "/a.bin") == .init())
    }

    @Test func aVisitorErrorStopsTheWalkUnchanged() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        try dir.file("sub/x.bin", size: 1)
        struct Stop: Error {}
        #expect(throws: Stop.self) { try DiskWalker.forEachFile(below: dir.path) { _ in throw Stop() } }
    }
}
