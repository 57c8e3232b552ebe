import Foundation
import Testing

@testable import StorageKit

struct StoredNameTests {
    static let timestamp: Int64 = 1_764_000_000_123

    /// First 10 hex digits of SHA-1(`<project>:<original bytes>:<timestamp>`), by `sha1sum`.
    static func expectedHash10(project: String, original: [UInt8], timestamp: Int64) async throws -> String {
        let input = Array((project + ":").utf8) + original + Array(":\(timestamp)".utf8)
        return String(try await Checksums.sha1(input).prefix(10))
    }

    /// `(original name, expected stem, expected extension)`.
    @Test(arguments: [
        ("lesson.mp4", "lesson", ".mp4"),
        ("Lesson.MP4", "Lesson", ".mp4"),
        ("x.Mov", "x", ".mov"),
        ("clip.final.AVI", "clip.final", ".avi"),
        ("keep-these_chars.ok.mp4", "keep-these_chars.ok", ".mp4"),
        ("My Clip (1).mp4", "My_Clip__1_", ".mp4"),
        ("a+b=c&d%e.mp4", "a_b_c_d_e", ".mp4"),
        ("café.mp4", "caf_", ".mp4"),  // é is one scalar (two bytes): one _
        ("cafe\u{301}.mp4", "cafe_", ".mp4"),  // e + combining accent: two scalars
        ("🎬 take 2.mp4", "__take_2", ".mp4"),  // four bytes, one scalar
        ("日本語.mov", "___", ".mov"),
        ("../x.mp4", "___x", ".mp4"),
        ("../../etc/passwd.mp4", "___.._etc_passwd", ".mp4"),  // no slash survives
        ("/abs/path.mp4", "_abs_path", ".mp4"),
        ("a\0b.mp4", "a_b", ".mp4"),
        ("line\nbreak\r.mp4", "line_break_", ".mp4"),
        ("tab\there.mp4", "tab_here", ".mp4"),
        (".hidden.mp4", "_hidden", ".mp4"),
        ("...dots.mp4", "___dots", ".mp4"),
        (".mp4", "_mp4", ""),  // a leading dot starts no extension
        ("noext", "noext", ""),
        ("trailing.", "trailing.", ""),
        ("?.mp4", "_", ".mp4"),  // sanitizes to _
        ("..mp4", "_", ".mp4"),
        ("a.b.c.MOV", "a.b.c", ".mov"),
    ])
    func stemsAndExtensions(original: String, stem: String, ext: String) throws {
        let name = StoredName(project: Fixture.demo, originalFilename: original, timestamp: Self.timestamp)
        #expect(name.stem == stem)
        #expect(name.ext == ext)
        #expect(name.filename == stem + "-" + name.hash10 + ext)
        #expect(ThumbnailNaming.name(forStored: name.filename) == stem + "-" + name.hash10 + ".jpg")
        #expect(!name.stem.hasPrefix("."))
        #expect(name.stem.unicodeScalars.allSatisfy { Self.isStemScalar($0) })
    }

    static func isStemScalar(_ s: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(s) || ("A"..."Z").contains(s) || ("0"..."9").contains(s) || s == "." || s == "_"
            || s == "-"
    }

    /// Names that are not UTF-8: one `_` per byte that is not part of a valid sequence.
    @Test(
        arguments: [
            ([0x66, 0xFF, 0xFE, 0x2E, 0x6D, 0x70, 0x34], "f__", ".mp4"),  // bytes that never occur in UTF-8
            ([0x61, 0xE2, 0x82, 0x2E, 0x6D, 0x70, 0x34], "a__", ".mp4"),  // a sequence cut short
            ([0xC0, 0xAF, 0x78, 0x2E, 0x6D, 0x6F, 0x76], "__x", ".mov"),  // overlong '/'
            ([0xED, 0xA0, 0x80, 0x2E, 0x61, 0x76, 0x69], "___", ".avi"),  // encoded surrogate
            ([0xF4, 0x90, 0x80, 0x80, 0x2E, 0x6D, 0x70, 0x34], "____", ".mp4"),  // above U+10FFFF
            ([0xC3, 0xA9, 0xE9, 0x2E, 0x6D, 0x70, 0x34], "__", ".mp4"),  // valid é (one _) then Latin-1 é (one _)
            ([0x80, 0x80, 0x2E, 0x6D, 0x70, 0x34], "__", ".mp4"),  // lone continuation bytes
        ] as [([UInt8], String, String)]
    )
    func invalidUTF8(original: [UInt8], stem: String, ext: String) async throws {
        let name = StoredName(project: Fixture.demo, originalFilename: original, timestamp: Self.timestamp)
        #expect(name.stem == stem)
        #expect(name.ext == ext)
        // The hash covers the raw bytes, not a repaired string.
        #expect(
            name.hash10
                == (try await Self.expectedHash10(project: "demo", original: original, timestamp: Self.timestamp))
        )
    }

    @Test(arguments: [
        (String(repeating: "a", count: 300) + ".mp4", String(repeating: "a", count: 100)),
        (String(repeating: "é", count: 300) + ".mp4", String(repeating: "_", count: 100)),
        (String(repeating: ".", count: 150) + "x.mp4", String(repeating: "_", count: 100)),
        (String(repeating: "b", count: 100) + ".mp4", String(repeating: "b", count: 100)),
        (String(repeating: "c", count: 101) + ".mp4", String(repeating: "c", count: 100)),
    ])
    func stemsAreCutTo100Characters(original: String, stem: String) throws {
        let name = StoredName(project: Fixture.demo, originalFilename: original, timestamp: Self.timestamp)
        #expect(name.stem == stem)
        #expect(name.stem.count <= StoredName.maxStemLength)
        #expect(name.ext == ".mp4")
        // Short enough for every file system: 100 + "-" + 10 + extension.
        #expect(name.filename.utf8.count == 100 + 1 + 10 + 4)
    }

    @Test(arguments: [
        ("demo", "lesson.mp4", 1_764_000_000_123 as Int64),
        ("demo", "lesson.mp4", 1_764_000_000_124),
        ("other", "lesson.mp4", 1_764_000_000_123),
        ("demo", "Lesson.mp4", 1_764_000_000_123),
        ("p-1_x", "My Clip (1).MOV", 0),
        ("demo", "café.mp4", 1),
        ("demo", "../x.mp4", 9_999_999_999_999),
    ])
    func hash10IsTheStartOfSHA1OfProjectNameAndTimestamp(
        project: String,
        original: String,
        timestamp: Int64
    ) async throws {
        let id = try #require(ProjectID(exactly: project))
        let name = StoredName(project: id, originalFilename: original, timestamp: timestamp)
        let expected = try await Self.expectedHash10(
            project: project,
            original: Array(original.utf8),
            timestamp: timestamp
        )
        #expect(name.hash10 == expected)
        #expect(name.hash10.count == 10)
        #expect(name.timestamp == timestamp)
    }

    @Test func theSpecExampleShape() throws {
        // `<stem>-<hash10><ext>` as in `lesson-1a2b3c4d5e.mp4`.
        let name = StoredName(project: Fixture.demo, originalFilename: "lesson.mp4", timestamp: Self.timestamp)
        let pattern = #/lesson-[0-9a-f]{10}\.mp4/#
        #expect(name.filename.wholeMatch(of: pattern) != nil)
    }

    @Test func nextTakesTheNextTimestampAndChangesTheHash() async throws {
        let original = Array("lesson.mp4".utf8)
        let first = StoredName(project: Fixture.demo, originalFilename: original, timestamp: Self.timestamp)
        let second = first.next(project: Fixture.demo, originalFilename: original)
        #expect(second.timestamp == Self.timestamp + 1)
        #expect(second.stem == first.stem)
        #expect(second.ext == first.ext)
        #expect(second.hash10 != first.hash10)
        #expect(second.filename != first.filename)
        #expect(
            second.hash10
                == (try await Self.expectedHash10(project: "demo", original: original, timestamp: Self.timestamp + 1))
        )
        #expect(second == StoredName(project: Fixture.demo, originalFilename: original, timestamp: Self.timestamp + 1))
        let third = second.next(project: Fixture.demo, originalFilename: original)
        #expect(third.timestamp == Self.timestamp + 2)
        #expect(Set([first.hash10, second.hash10, third.hash10]).count == 3)
    }

    @Test func theSameInputsGiveTheSameName() {
        let a = StoredName(project: Fixture.demo, originalFilename: "x.mp4", timestamp: 5)
        let b = StoredName(project: Fixture.demo, originalFilename: Array("x.mp4".utf8), timestamp: 5)
        #expect(a == b)
    }

    @Test(arguments: [
        ("a.MP4", "mp4"), ("a.tar.Gz", "gz"), ("noext", ""), (".mp4", ""), ("a.", ""), ("a.b.", ""),
    ])
    func lowercasedExtension(name: String, ext: String) {
        #expect(StoredName.lowercasedExtension(Array(name.utf8)) == ext)
    }

    @Test func hexStringIsLowerCase() {
        #expect([0x00, 0x0F, 0xA0, 0xFF].hexString == "000fa0ff")
        #expect([UInt8]().hexString == "")
    }
}
