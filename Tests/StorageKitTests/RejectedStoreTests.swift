import Foundation
import Testing

@testable import StorageKit

#if canImport(Glibc)
import Glibc
#endif

struct RejectedStoreTests {
    struct Bench {
        let dir: TempDir
        let layout: StorageLayout
        let store: RejectedStore
        var folder: String { layout.projectPath(.rejected, Fixture.demo) }

        init() throws {
            dir = try TempDir("rejected")
            layout = StorageLayout(root: dir.path + "/storage")
            try layout.createCategoryFolders()
            store = RejectedStore(layout: layout)
        }

        func reasonFile(_ name: String) throws -> [String: Any] {
            let data = try Data(contentsOf: URL(fileURLWithPath: folder + "/" + name + ".reason.json"))
            return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        }
    }

    static func rejection(_ reason: RejectionReason = .notMedia, original: String? = "clip.mp4") -> Rejection {
        Rejection(
            reason: reason,
            detail: "The file does not start with an MP4/MOV box.",
            rejectedAt: ISO8601Millis.date(milliseconds: Fixture.baseMillis),
            originalFilename: original
        )
    }

    @Test func aFileIsMovedUnderItsOwnNameWithItsReason() throws {
        let b = try Bench()
        defer { b.dir.remove() }
        let bytes = patternBytes(5000)
        let source = try writeFile(b.dir.path + "/drop/demo/clip.mp4", bytes)
        let name = try b.store.reject(path: source, as: "clip.mp4", project: Fixture.demo, rejection: Self.rejection())
        #expect(name == "clip.mp4")
        #expect(fileKind(source) == nil)
        #expect(try Checksums.bytes(b.folder + "/clip.mp4") == bytes)
        #expect(listing(b.folder) == ["clip.mp4", "clip.mp4.reason.json"])
        let reason = try b.reasonFile("clip.mp4")
        #expect(reason["reason"] as? String == "not_media")
        #expect(reason["detail"] as? String == "The file does not start with an MP4/MOV box.")
        #expect(reason["rejected_at"] as? String == "2025-11-24T16:00:00.123Z")
        #expect(reason["original_filename"] as? String == "clip.mp4")
        #expect(Set(reason.keys) == ["reason", "detail", "rejected_at", "original_filename"])
    }

    @Test func clashesGetNumberedNames() throws {
        let b = try Bench()
        defer { b.dir.remove() }
        var names: [String] = []
        for n in 0..<4 {
            let source = try writeFile(b.dir.path + "/drop/clip.mp4", [UInt8(n)])
            names.append(
                try #require(
                    try b.store.reject(path: source, as: "clip.mp4", project: Fixture.demo, rejection: Self.rejection())
                )
            )
        }
        #expect(names == ["clip.mp4", "clip-1.mp4", "clip-2.mp4", "clip-3.mp4"])
        for (n, name) in names.enumerated() {
            #expect(try Checksums.bytes(b.folder + "/" + name) == [UInt8(n)])
            #expect(try b.reasonFile(name)["reason"] as? String == "not_media")
        }
        let noExt = try writeFile(b.dir.path + "/drop/README", [1])
        let noExt2 = try writeFile(b.dir.path + "/drop/README2", [2])
        #expect(
            try b.store.reject(path: noExt, as: "README", project: Fixture.demo, rejection: Self.rejection())
                == "README"
        )
        #expect(
            try b.store.reject(path: noExt2, as: "README", project: Fixture.demo, rejection: Self.rejection())
                == "README-1"
        )
    }

    @Test func aStaleReasonFileIsNotOverwritten() throws {
        let b = try Bench()
        defer { b.dir.remove() }
        try writeFile(b.folder + "/clip.mp4.reason.json", Array("stale".utf8))
        let source = try writeFile(b.dir.path + "/drop/clip.mp4", [1])
        let name = try b.store.reject(path: source, as: "clip.mp4", project: Fixture.demo, rejection: Self.rejection())
        #expect(name == "clip-1.mp4")
        #expect(try Checksums.bytes(b.folder + "/clip.mp4.reason.json") == Array("stale".utf8))
    }

    @Test(arguments: [
        ("a.mp4", 1, "a-1.mp4"), ("a.b.MOV", 2, "a.b-2.MOV"), ("noext", 3, "noext-3"), (".hidden", 1, ".hidden-1"),
        ("trailing.", 1, "trailing.-1"),
    ])
    func numberedNames(name: String, n: Int, expected: String) {
        #expect(String(decoding: NumberedNames(name).name(n), as: UTF8.self) == expected)
    }

    @Test func numberedNamesStartWithTheNameItselfAndStopAtTheLimit() {
        let names = NumberedNames("a.mp4", limit: 3).map { String(decoding: $0, as: UTF8.self) }
        #expect(names == ["a.mp4", "a-1.mp4", "a-2.mp4"])
        // Bytes that are not UTF-8 are numbered as they are.
        #expect(NumberedNames([0xFF, 0x2E, 0x6D]).name(1) == [0xFF, 0x2D, 0x31, 0x2E, 0x6D])
    }

    @Test(arguments: [("a/b.mp4", "a_b.mp4"), ("", "unnamed"), (".", "unnamed"), ("..", "unnamed"), ("x\0y", "x_y")])
    func clientNamesAreMadeSafe(name: String, safe: String) throws {
        let b = try Bench()
        defer { b.dir.remove() }
        let source = try writeFile(b.dir.path + "/upload", [1])
        #expect(try b.store.reject(path: source, as: name, project: Fixture.demo, rejection: Self.rejection()) == safe)
        #expect(fileKind(b.folder + "/" + safe) == "file")
    }

    @Test func symlinksAreMovedAsThemselves() throws {
        let b = try Bench()
        defer { b.dir.remove() }
        let target = try writeFile(b.dir.path + "/secret", [42])
        try b.dir.folder("drop")
        try b.dir.symlink("drop/link.mp4", to: target)
        let name = try b.store.reject(
            path: b.dir.path + "/drop/link.mp4",
            as: "link.mp4",
            project: Fixture.demo,
            rejection: Self.rejection(.symlink)
        )
        #expect(name == "link.mp4")
        #expect(fileKind(b.folder + "/link.mp4") == "link")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: b.folder + "/link.mp4") == target)
        #expect(try Checksums.bytes(target) == [42])
        #expect(try b.reasonFile("link.mp4")["reason"] as? String == "symlink")
    }

    @Test(.timeLimit(.minutes(3)))
    func fifosAreMovedWithoutBeingOpened() throws {
        let b = try Bench()
        defer { b.dir.remove() }
        try b.dir.folder("drop")
        try b.dir.fifo("drop/pipe.mp4")
        let watch = FIFOWatch(paths: [b.dir.path + "/drop/pipe.mp4", b.folder + "/pipe.mp4"])
        let name = try b.store.reject(
            path: b.dir.path + "/drop/pipe.mp4",
            as: "pipe.mp4",
            project: Fixture.demo,
            rejection: Self.rejection(.specialFile)
        )
        #expect(watch.finish() == false, "the FIFO was opened")
        #expect(name == "pipe.mp4")
        #expect(fileKind(b.folder + "/pipe.mp4") == "fifo")
        #expect(try b.reasonFile("pipe.mp4")["reason"] as? String == "special_file")
    }

    @Test func aVanishedSourceLeavesNoReasonFile() throws {
        let b = try Bench()
        defer { b.dir.remove() }
        let name = try b.store.reject(
            path: b.dir.path + "/drop/gone.mp4",
            as: "gone.mp4",
            project: Fixture.demo,
            rejection: Self.rejection()
        )
        #expect(name == nil)
        #expect(listing(b.folder).isEmpty)
    }

    @Test func listReturnsEntriesWithTheirReasons() throws {
        let b = try Bench()
        defer { b.dir.remove() }
        #expect(try b.store.list(project: Fixture.demo).isEmpty)
        let a = try writeFile(b.dir.path + "/drop/b.txt", [1, 2, 3])
        let c = try writeFile(b.dir.path + "/drop/a.mp4", [])
        try b.store.reject(
            path: a,
            as: "b.txt",
            project: Fixture.demo,
            rejection: Self.rejection(.extensionNotAllowed, original: "b.txt")
        )
        try b.store.reject(
            path: c,
            as: "a.mp4",
            project: Fixture.demo,
            rejection: Self.rejection(.empty, original: nil)
        )
        // A file someone put there by hand has no reason file.
        try writeFile(b.folder + "/manual.bin", [9, 9])
        let list = try b.store.list(project: Fixture.demo)
        #expect(list.map(\.name) == ["a.mp4", "b.txt", "manual.bin"])
        #expect(list.map(\.reason) == ["empty", "extension_not_allowed", "unknown"])
        #expect(list.map(\.sizeBytes) == [0, 3, 2])
        #expect(list[1].detail == "The file does not start with an MP4/MOV box.")
        #expect(list[1].rejectedAt == "2025-11-24T16:00:00.123Z")
        #expect(list[1].originalFilename == "b.txt")
        #expect(list[0].originalFilename == nil)
        // Other projects are separate.
        #expect(try b.store.list(project: Fixture.other).isEmpty)
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(list[1])) as? [String: Any] ?? [:]
        #expect(Set(json.keys) == ["name", "size_bytes", "reason", "detail", "rejected_at", "original_filename"])
    }

    @Test func rejectionJSONRoundTrips() throws {
        for reason in RejectionReason.allCases {
            let r = Self.rejection(reason)
            #expect(try JSONDecoder().decode(Rejection.self, from: JSONEncoder().encode(r)) == r)
        }
        #expect(
            RejectionReason.allCases.map(\.rawValue) == [
                "extension_not_allowed", "too_large", "empty", "not_media", "no_video", "truncated", "symlink",
                "special_file", "hard_links", "duplicate", "quota_exceeded", "invalid_project",
            ]
        )
    }
}

/// Retry: a rejected file goes back into the drop under the name it was dropped with.
struct RejectedStoreRestoreTests {
    /// A bench whose project `demo` holds one rejected file, `x.mp4`, dropped as `drop/demo/x.mp4`.
    static func benchWithOneRejectedFile() throws -> RejectedStoreTests.Bench {
        let b = try RejectedStoreTests.Bench()
        let source = try writeFile(b.dir.path + "/drop/demo/x.mp4", patternBytes(10))
        _ = try b.store.reject(
            path: source,
            as: "x.mp4",
            project: Fixture.demo,
            rejection: RejectedStoreTests.rejection()
        )
        return b
    }

    @Test func aRejectedFileGoesBackUnderItsOriginalNameAndItsReasonGoes() throws {
        let b = try RejectedStoreTests.Bench()
        defer { b.dir.remove() }
        let bytes = patternBytes(3000)
        let source = try writeFile(b.dir.path + "/drop/demo/talk.mp4", bytes)
        let rejection = RejectedStoreTests.rejection(original: "talk.mp4")
        // Stored as talk-1.mp4 (talk.mp4 was taken in rejected/).
        _ = try writeFile(b.folder + "/talk.mp4", patternBytes(10))
        let name = try #require(
            try b.store.reject(path: source, as: "talk.mp4", project: Fixture.demo, rejection: rejection)
        )
        #expect(name == "talk-1.mp4")
        // The drop already holds a new talk.mp4: the restored one is numbered, nothing is overwritten.
        let newer = try writeFile(b.dir.path + "/drop/demo/talk.mp4", patternBytes(20))
        let restored = try b.store.restore(name: name, project: Fixture.demo, dropRoot: RawPath(b.dir.path + "/drop"))
        #expect(restored == .inDrop(RawPath(b.dir.path + "/drop/demo/talk-1.mp4")))
        #expect(try Checksums.bytes(b.dir.path + "/drop/demo/talk-1.mp4") == bytes)
        #expect(try Checksums.bytes(newer) == patternBytes(20))
        #expect(listing(b.folder) == ["talk.mp4"])
    }

    @Test func unknownNamesReasonFilesAndPathsAreRefused() throws {
        let b = try Self.benchWithOneRejectedFile()
        defer { b.dir.remove() }
        let drop = RawPath(b.dir.path + "/drop")
        for name in ["missing.mp4", "x.mp4.reason.json", "../rejected/project_demo/x.mp4", "", "."] {
            #expect(try b.store.restore(name: name, project: Fixture.demo, dropRoot: drop) == nil, "\(name)")
        }
        #expect(listing(b.folder) == ["x.mp4", "x.mp4.reason.json"])
    }

    /// Found by review: the project's folder in the drop swapped for a symlink (a drop user can make one) must
    /// not receive the file: it would land wherever the link points, outside the drop.
    @Test func aDropFolderThatIsASymlinkIsNotFollowed() throws {
        let b = try Self.benchWithOneRejectedFile()
        defer { b.dir.remove() }
        try FileManager.default.removeItem(atPath: b.dir.path + "/drop/demo")
        try FileManager.default.createDirectory(atPath: b.dir.path + "/elsewhere", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(
            atPath: b.dir.path + "/drop/demo",
            withDestinationPath: b.dir.path + "/elsewhere"
        )
        #expect(throws: StorageError.self) {
            try b.store.restore(name: "x.mp4", project: Fixture.demo, dropRoot: RawPath(b.dir.path + "/drop"))
        }
        #expect(listing(b.dir.path + "/elsewhere").isEmpty)
        #expect(listing(b.folder) == ["x.mp4", "x.mp4.reason.json"])
    }

    /// Found by review: an original name the watcher ignores (a leading dot, `.part`) would leave the file unseen
    /// in the drop for good: the rejected file's own name is used, and when that is ignored too, the retry is
    /// refused with the reason.
    @Test func aNameTheWatcherIgnoresIsNotUsed() throws {
        let b = try RejectedStoreTests.Bench()
        defer { b.dir.remove() }
        let drop = RawPath(b.dir.path + "/drop")
        try FileManager.default.createDirectory(atPath: drop.description, withIntermediateDirectories: true)
        // Each file rejected under the name it came with (an upload's name can be anything).
        func rejected(as name: String) throws -> String {
            let file = try writeFile(b.dir.path + "/staging/" + UUID().uuidString, patternBytes(10))
            let rejection = RejectedStoreTests.rejection(original: name)
            return try #require(try b.store.reject(path: file, as: name, project: Fixture.demo, rejection: rejection))
        }
        let shown = try rejected(as: ".hidden.mp4")
        #expect(shown == "_hidden.mp4")
        #expect(
            try b.store.restore(name: shown, project: Fixture.demo, dropRoot: drop)
                == .inDrop(drop.appending(Array("demo/_hidden.mp4".utf8)))
        )
        let part = try rejected(as: "clip.mp4.part")
        let refusal = try #require(throws: StorageError.self) {
            try b.store.restore(name: part, project: Fixture.demo, dropRoot: drop)
        }
        #expect(refusal.code == .conflict && refusal.message.contains("ignores"), "\(refusal.message)")
        #expect(listing(b.folder) == ["clip.mp4.part", "clip.mp4.part.reason.json"])
    }
}
