import Foundation
import Testing

@testable import StorageKit

struct StorageLayoutTests {
    static let layout = StorageLayout(root: "/srv/storage")

    @Test(arguments: [
        ("/srv/storage", "/srv/storage"),
        ("/srv/storage/", "/srv/storage"),
        ("/srv//storage", "/srv/storage"),
        ("/srv/./storage", "/srv/storage"),
        ("/srv/x/../storage", "/srv/storage"),
        ("/../../srv", "/srv"),
        ("/", "/"),
    ])
    func rootsAreNormalized(root: String, expected: String) {
        #expect(StorageLayout(root: root).root == expected)
    }

    @Test func aRelativeRootIsMadeAbsoluteAgainstTheCurrentDirectory() {
        let cwd = FileManager.default.currentDirectoryPath
        #expect(StorageLayout(root: "./storage").root == StorageLayout.normalize(cwd + "/storage"))
        #expect(StorageLayout(root: "storage").root.hasPrefix("/"))
    }

    @Test func categoryAndProjectPaths() throws {
        let l = Self.layout
        #expect(l.categoryPath(.uploads) == "/srv/storage/uploads")
        #expect(l.categoryPath(.metadata) == "/srv/storage/metadata")
        #expect(l.projectPath(.rejected, Fixture.demo) == "/srv/storage/rejected/project_demo")
        #expect(l.catalogPath == "/srv/storage/metadata/catalog.sqlite")
        #expect(l.stagingPath == "/srv/storage/.staging")
        #expect(
            try l.relativePath(.uploads, Fixture.demo, "lesson-1a2b3c4d5e.mp4")
                == "uploads/project_demo/lesson-1a2b3c4d5e.mp4"
        )
        #expect(
            try l.absolute("uploads/project_demo/lesson-1a2b3c4d5e.mp4")
                == "/srv/storage/uploads/project_demo/lesson-1a2b3c4d5e.mp4"
        )
        #expect(StorageCategory.perProject.count == 6)
        #expect(!StorageCategory.perProject.contains(.metadata))
    }

    @Test(arguments: ["", ".", "..", "a/b", "../x", "/abs", "a\0b", String(repeating: "n", count: 256)])
    func unsafeNamesAreRefused(name: String) {
        #expect(throwsStorageError(.unsafeName, { _ = try Self.layout.relativePath(.uploads, Fixture.demo, name) }))
    }

    @Test func aLongButLegalNameIsAccepted() throws {
        let name = String(repeating: "n", count: 255)
        #expect(try Self.layout.relativePath(.uploads, Fixture.demo, name) == "uploads/project_demo/" + name)
    }

    @Test(arguments: [
        "../x", "a/../../x", "uploads/../../etc/passwd", "uploads/..", "..", ".", "./x", "/etc/passwd",
        "/srv/storage/x",
        "", "a//b", "uploads/project_demo/", "uploads/project_demo/a\0b", "uploads/\0/x",
    ])
    func pathsThatWouldLeaveTheRootAreRefused(relative: String) {
        #expect(
            throwsStorageError(.outsideStorage, { _ = try Self.layout.absolute(relative) }) {
                $0.message.contains("would leave STORAGE_PATH")
            }
        )
    }

    /// Whatever `absolute` accepts stays inside the root once normalized.
    @Test(arguments: [
        "x", "uploads/project_demo/a.mp4", "a/b/c/d", "...", "..x/y..", "uploads/project_a/.hidden", "a/./b",
        "x/..", "../x", "/x", "a//b",
    ])
    func everyAcceptedPathStaysInside(relative: String) {
        guard let path = try? Self.layout.absolute(relative) else { return }
        #expect(path.hasPrefix(Self.layout.root + "/"))
        #expect(StorageLayout.normalize(path).hasPrefix(Self.layout.root + "/"))
        #expect(StorageLayout.normalize(path) == path)
    }

    @Test func createCategoryFoldersMakesEveryFolder() throws {
        let dir = try TempDir("layout")
        defer { dir.remove() }
        let layout = StorageLayout(root: dir.path + "/a/b/storage")
        try layout.createCategoryFolders()
        for c in StorageCategory.allCases {
            var isDir: ObjCBool = false
            #expect(
                FileManager.default.fileExists(atPath: layout.categoryPath(c), isDirectory: &isDir) && isDir.boolValue
            )
        }
        #expect(FileManager.default.fileExists(atPath: layout.stagingPath))
        // Idempotent.
        try layout.createCategoryFolders()
        let names = try FileManager.default.contentsOfDirectory(atPath: layout.root).sorted()
        #expect(
            names == [".staging", "exports", "metadata", "music", "processed", "rejected", "thumbnails", "uploads"]
        )
    }

    @Test func createCategoryFoldersFailsOnAFileInTheWay() throws {
        let dir = try TempDir("layout")
        defer { dir.remove() }
        try dir.file("storage", size: 3)
        #expect(throws: (any Error).self) { try StorageLayout(root: dir.path + "/storage").createCategoryFolders() }
    }
}
