import Foundation
import Testing

@testable import StorageKit

#if canImport(Glibc)
import Glibc
#endif

/// Audit of 2026-12-07: a rejected file whose name is not UTF-8 was stored under a repaired name (`rej\xfe.txt`
/// became `rej\u{FFFD}.txt`), so two such names could fold into one and the file was not "under its own name".
/// It keeps its bytes now; the listing shows it as text, and retry takes that text back to the file.
struct RejectedRawNameTests {
    private static func create(_ path: RawPath, _ contents: String) throws {
        let fd = path.withCString { open($0, O_CREAT | O_WRONLY | O_EXCL, 0o644) }
        #expect(fd >= 0)
        _ = contents.withCString { write(fd, $0, strlen($0)) }
        close(fd)
    }

    @Test func aNameThatIsNotUTF8IsKeptByteForByteAndCanBeRetried() throws {
        let dir = try TempDir("rejected-raw")
        defer { dir.remove() }
        let layout = StorageLayout(root: dir.path + "/storage")
        try layout.createCategoryFolders()
        let store = RejectedStore(layout: layout)
        let drop = RawPath(dir.path + "/drop")
        try FileManager.default.createDirectory(atPath: dir.path + "/drop/demo", withIntermediateDirectories: true)
        let names: [[UInt8]] = [
            Array("rej".utf8) + [0xFE] + Array(".txt".utf8), Array("rej".utf8) + [0xFF] + Array(".txt".utf8),
        ]
        for (index, name) in names.enumerated() {
            let source = drop.appending(Array("demo".utf8)).appending(name)
            try Self.create(source, "file \(index)")
            let rejection = Rejection(reason: .extensionNotAllowed, detail: "no", originalFilename: "rej.txt")
            let stored = try store.reject(path: source, as: name, project: Fixture.demo, rejection: rejection)
            #expect(stored != nil)
        }
        let folder = RawPath(layout.projectPath(.rejected, Fixture.demo))
        for name in names {
            #expect(try FileOps.lstat(folder.appending(name)) != nil, "kept under its own bytes")
            #expect(try FileOps.lstat(RawPath(folder.appending(name).bytes + Array(".reason.json".utf8))) != nil)
        }
        let listed = try store.list(project: Fixture.demo)
        #expect(listed.count == 2)
        #expect(listed.allSatisfy { $0.reason == "extension_not_allowed" && $0.sizeBytes == 6 })
        // Both read "rej\u{FFFD}.txt": a text that names two files retries neither.
        #expect(try store.restore(name: "rej\u{FFFD}.txt", project: Fixture.demo, dropRoot: drop) == nil)
        // One left: its text brings it back under its own bytes.
        _ = folder.appending(names[1]).withCString { unlink($0) }
        let restored = try store.restore(name: "rej\u{FFFD}.txt", project: Fixture.demo, dropRoot: drop)
        #expect(restored == .inDrop(drop.appending(Array("demo".utf8)).appending(names[0])))
        #expect(try FileOps.lstat(drop.appending(Array("demo".utf8)).appending(names[0])) != nil)
    }
}
