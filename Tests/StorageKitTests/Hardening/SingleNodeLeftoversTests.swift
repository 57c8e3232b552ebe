import Foundation
import Testing

@testable import StorageKit

/// One node on SQLite holds the whole storage (its lock keeps any other daemon off it): whatever its start-up
/// finds half-made is a leftover of its own earlier processes, whichever `NODE_ID` they ran under.
@Suite(.timeLimit(.minutes(1)))
struct SingleNodeLeftoversTests {
    @Test func startUpRemovesPartialRenditionsAKilledProcessLeft() throws {
        let b = try IngestorTests.Bench()
        defer { b.remove() }
        let folder = b.layout.categoryPath(.processed) + "/project_k1/clip-0123456789"
        let partial = folder + "/" + FileOps.temporaryName(for: folder + "/360p.mp4", owner: "node3")
        let older = folder + "/" + FileOps.temporaryName(for: folder + "/sprite.jpg")
        let made = folder + "/720p.mp4"
        for path in [partial, older, made] { _ = try writeFile(path, patternBytes(100)) }
        let summary = try b.ingestor.recover()
        #expect(summary.temporaryFilesRemoved == 2)
        #expect(!FileManager.default.fileExists(atPath: partial))
        #expect(!FileManager.default.fileExists(atPath: older))
        #expect(FileManager.default.fileExists(atPath: made), "a finished rendition stays")
    }

    /// Staging folders of a `NODE_ID` the node ran under before (a new host name) are recovered too.
    @Test func startUpRecoversTheStagingOfAnEarlierNodeID() throws {
        let b = try IngestorTests.Bench()
        defer { b.remove() }
        let earlier = b.layout.stagingPath + "/node-oldhost"
        _ = try writeFile(earlier + "/.upload-1.tmp", patternBytes(10))
        _ = try writeFile(earlier + "/0f0e.mp4", patternBytes(7))
        let summary = try b.ingestor.recover(dropRoot: RawPath(b.drop))
        #expect(summary.abandonedUploads == 1)
        #expect(summary.returnedToDrop == 1)
        #expect(b.staging.isEmpty)
        #expect(b.dropEntries == ["0f0e.mp4"])
    }
}
