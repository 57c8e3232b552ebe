import Foundation
import Testing

@testable import StorageKit

#if canImport(Glibc)
import Glibc
#endif

struct AssetFilesTests {
    struct Bench {
        let dir: TempDir
        let layout: StorageLayout
        let asset: Asset
        var stored: String { layout.root + "/" + asset.relativePath }
        var thumbnail: String {
            layout.root + "/thumbnails/project_demo/" + ThumbnailNaming.name(forStored: asset.filename)
        }
        var processed: String { layout.root + "/" + (try! ProcessedStore(layout: layout).folderRelative(for: asset)) }

        init() throws {
            dir = try TempDir("asset-files")
            layout = StorageLayout(root: dir.path + "/storage")
            try layout.createCategoryFolders()
            var made = Fixture.asset()
            made.filename = "lesson-0123456789.mp4"
            made.relativePath = "uploads/project_demo/lesson-0123456789.mp4"
            asset = made
        }
    }

    @Test func everyFileOfTheAssetGoesAndMissingOnesAreNoError() throws {
        let b = try Bench()
        defer { b.dir.remove() }
        _ = try writeFile(b.stored, patternBytes(100))
        _ = try writeFile(b.thumbnail, patternBytes(10))
        _ = try writeFile(b.processed + "/720p.mp4", patternBytes(10))
        _ = try writeFile(b.processed + "/sprite.jpg", patternBytes(10))
        try AssetFiles(layout: b.layout).remove(b.asset)
        #expect(fileKind(b.stored) == nil)
        #expect(fileKind(b.thumbnail) == nil)
        #expect(fileKind(b.processed) == nil)
        // Nothing left to remove: still no error.
        try AssetFiles(layout: b.layout).remove(b.asset)
    }

    @Test func aFileThatCannotBeRemovedIsNamedAndTheOthersStillGo() throws {
        let b = try Bench()
        defer { b.dir.remove() }
        // A folder where the stored file should be: unlink(2) refuses it (EISDIR), even for root.
        _ = try writeFile(b.stored + "/inside", patternBytes(10))
        _ = try writeFile(b.thumbnail, patternBytes(10))
        _ = try writeFile(b.processed + "/720p.mp4", patternBytes(10))
        let error = try #require(throws: StorageError.self) { try AssetFiles(layout: b.layout).remove(b.asset) }
        #expect(error.message.contains(b.asset.relativePath), "\(error.message)")
        #expect(error.message.contains("could not be removed"), "\(error.message)")
        #expect(fileKind(b.stored) == "dir")
        #expect(fileKind(b.thumbnail) == nil)
        #expect(fileKind(b.processed) == nil)
    }
}
