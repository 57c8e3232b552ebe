import Foundation
import Testing

@testable import StorageKit

/// Issue 10, scenario 2: internal temporary files live only where no user's name can land.
@Suite("Temporary names")
struct TemporaryNameTests {
    @Test func recoveryLeavesAUsersFileInRejectedAlone() throws {
        let bench = try IngestorTests.Bench()
        defer { bench.remove() }
        let folder = bench.layout.categoryPath(.rejected) + "/project_up"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let user = folder + "/" + FileOps.temporaryPrefix + "a.mp4"
        try Data("user bytes".utf8).write(to: URL(fileURLWithPath: user))
        _ = try bench.ingestor.recover()
        #expect(FileManager.default.fileExists(atPath: user))
    }

    @Test func rejectingWritesNoTemporaryBesideTheFile() throws {
        let bench = try IngestorTests.Bench()
        defer { bench.remove() }
        let source = bench.drop + "/x.txt"
        try Data("x".utf8).write(to: URL(fileURLWithPath: source))
        let store = RejectedStore(layout: bench.layout)
        let rejection = Rejection(reason: .extensionNotAllowed, detail: "d", originalFilename: "x.txt")
        #expect(
            try store.reject(
                path: RawPath(source),
                as: "x.txt",
                project: ProjectID(exactly: "p")!,
                rejection: rejection
            ) == "x.txt"
        )
        let names = try FileManager.default.contentsOfDirectory(
            atPath: bench.layout.categoryPath(.rejected) + "/project_p"
        )
        #expect(Set(names) == ["x.txt", "x.txt.reason.json"])
    }

    @Test(arguments: [".ingestd-tmp-a.mp4", "...x.mp4", ".upload-1.tmp"])
    func rejectedNamesNeverStartWithADot(_ name: String) {
        #expect(!RejectedStore.safeName(name).hasPrefix("."))
    }
}
