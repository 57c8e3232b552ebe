import Foundation
import Testing

@testable import StorageKit

#if canImport(Glibc)
import Glibc
#endif

/// Audit of 2026-12-08: a rejected file's name was cut to 200 bytes, extension and all (`E×246.mp4` became
/// `E×200`, a clash `E×200-1`). A name keeps itself when it and its `<name>.reason.json` fit in NAME_MAX (255
/// bytes); a longer one is cut in its stem only as far as needed, on a character boundary, keeping its extension.
struct RejectedLongNameTests {
    static func reject(_ b: RejectedStoreTests.Bench, _ name: [UInt8], _ contents: [UInt8]) throws -> String? {
        let source = RawPath(b.dir.path + "/staging").appending(Array(UUID().uuidString.utf8))
        try writeFile(source.description, contents)
        let rejection = RejectedStoreTests.rejection(original: String(decoding: name, as: UTF8.self))
        return try b.store.reject(path: source, as: name, project: Fixture.demo, rejection: rejection)
    }

    @Test func aLongNameKeepsItsExtensionAndLeavesRoomForItsReasonFile() throws {
        let b = try RejectedStoreTests.Bench()
        defer { b.dir.remove() }
        let long = String(repeating: "E", count: 246) + ".mp4"
        var names: [String] = []
        for n in 0..<2 {
            let source = try writeFile(b.dir.path + "/drop/demo/" + long, [UInt8(n)])
            let rejection = RejectedStoreTests.rejection(original: long)
            names.append(
                try #require(try b.store.reject(path: source, as: long, project: Fixture.demo, rejection: rejection))
            )
        }
        #expect(names == [String(repeating: "E", count: 239) + ".mp4", String(repeating: "E", count: 237) + "-1.mp4"])
        for (n, name) in names.enumerated() {
            #expect((name + ".reason.json").utf8.count == 255)
            #expect(try Checksums.bytes(b.folder + "/" + name) == [UInt8(n)])
            // The listing still names the file as the user did.
            #expect(try b.reasonFile(name)["original_filename"] as? String == long)
        }
        #expect(try b.store.list(project: Fixture.demo).map(\.originalFilename) == [long, long])
    }

    @Test func namesThatFitAreKeptWhole() throws {
        let b = try RejectedStoreTests.Bench()
        defer { b.dir.remove() }
        // 200 bytes (kept before), 201 and 243 bytes (cut to 200 before): with `.reason.json`, 255 at most.
        for length in [200, 201, 243] {
            let name = String(repeating: "F", count: length - 4) + ".mov"
            #expect(try Self.reject(b, Array(name.utf8), [1]) == name)
        }
        // A clash at 243 bytes makes room for its number in the stem.
        let name = String(repeating: "F", count: 239) + ".mov"
        #expect(try Self.reject(b, Array(name.utf8), [2]) == String(repeating: "F", count: 237) + "-1.mov")
    }

    @Test func aLongUTF8NameIsCutBetweenCharacters() throws {
        let b = try RejectedStoreTests.Bench()
        defer { b.dir.remove() }
        let name = String(repeating: "é", count: 125) + ".mp4"  // 254 bytes
        #expect(try Self.reject(b, Array(name.utf8), [1]) == String(repeating: "é", count: 119) + ".mp4")
        #expect(try Self.reject(b, Array(name.utf8), [2]) == String(repeating: "é", count: 118) + "-1.mp4")
    }

    @Test func aLongNameThatIsNotUTF8IsCutInBytes() throws {
        let b = try RejectedStoreTests.Bench()
        defer { b.dir.remove() }
        let eAcute: [UInt8] = [0xC3, 0xA9]
        let name: [UInt8] = [0xFF, 0xFF] + Array(repeatElement(eAcute, count: 124).joined()) + Array(".mp4".utf8)
        _ = try Self.reject(b, name, [1])
        let kept = Array(name.prefix(239)) + Array(".mp4".utf8)
        #expect(try rawNames(b.folder) == [kept, kept + Array(".reason.json".utf8)])
    }

    @Test func anExtensionTooLongToKeepIsCutWithTheRest() throws {
        let b = try RejectedStoreTests.Bench()
        defer { b.dir.remove() }
        let name = "a." + String(repeating: "x", count: 250)
        #expect(try Self.reject(b, Array(name.utf8), [1]) == "a." + String(repeating: "x", count: 241))
        #expect(try Self.reject(b, Array(name.utf8), [2]) == "a." + String(repeating: "x", count: 239) + "-1")
    }

    @Test func aShortenedNameGoesBackUnderItsOwnNameOnRetry() throws {
        let b = try RejectedStoreTests.Bench()
        defer { b.dir.remove() }
        let long = String(repeating: "E", count: 246) + ".mp4"
        let source = try writeFile(b.dir.path + "/drop/demo/" + long, [7])
        let stored = try #require(
            try b.store.reject(
                path: source,
                as: long,
                project: Fixture.demo,
                rejection: RejectedStoreTests.rejection(original: long)
            )
        )
        let drop = RawPath(b.dir.path + "/drop")
        #expect(
            try b.store.restore(name: stored, project: Fixture.demo, dropRoot: drop)
                == .inDrop(drop.appending(Array(("demo/" + long).utf8)))
        )
        #expect(try Checksums.bytes(source) == [7])
        #expect(listing(b.folder).isEmpty)
    }

    @Test(arguments: [
        // Fits: as before.
        ("a.mp4", 0, 8, "a.mp4"), ("a.mp4", 1, 8, "a-1.mp4"), ("abcdef.mp4", 0, 10, "abcdef.mp4"),
        // Cut in the stem, just enough, the extension kept.
        ("abcdef.mp4", 0, 8, "abcd.mp4"), ("abcdef.mp4", 2, 8, "ab-2.mp4"), ("noext", 1, 4, "no-1"),
        // Between characters: `é` is two bytes.
        ("aéé.mp4", 0, 8, "aé.mp4"), ("aéé.mp4", 0, 6, "a.mp4"),
        // An extension that leaves no stem is cut with the rest.
        ("a.mpeg4", 0, 5, "a.mpe"), ("a.mpeg4", 1, 5, "a.m-1"),
    ])
    func numberedNamesFitInMaxBytes(name: String, n: Int, maxBytes: Int, expected: String) {
        #expect(String(decoding: NumberedNames(name, maxBytes: maxBytes).name(n), as: UTF8.self) == expected)
    }

    @Test func numberedNamesThatAreNotUTF8AreCutInBytes() {
        // `\xC3\xA9` reads `é`, but the name is not UTF-8 (`\xFF`): its bytes are cut as they come.
        let name: [UInt8] = [0xFF, 0x61, 0xC3, 0xA9, 0x2E, 0x6D]
        #expect(NumberedNames(name, maxBytes: 5).name(0) == [0xFF, 0x61, 0xC3, 0x2E, 0x6D])
        #expect(NumberedNames(name, maxBytes: 6).name(1) == [0xFF, 0x61, 0x2D, 0x31, 0x2E, 0x6D])
    }

    /// The reason file is written under a temporary name first: that name, made of the final one, fits too.
    @Test func aTemporaryNameFitsInNameMax() {
        let final = String(repeating: "é", count: 121) + ".mp4.reason.json"  // 258 bytes
        for owner in [nil, "node-a"] {
            let name = FileOps.temporaryName(for: "/x/" + final, owner: owner)
            #expect(name.utf8.count <= 255 && name.utf8.count >= 254)
            #expect(name.hasPrefix(FileOps.temporaryPrefix))
            #expect(FileOps.temporaryOwner(name) == owner)
        }
        // A name that fits is whole.
        #expect(FileOps.temporaryName(for: "/x/clip.mp4.reason.json").hasSuffix("-clip.mp4.reason.json"))
    }
}
