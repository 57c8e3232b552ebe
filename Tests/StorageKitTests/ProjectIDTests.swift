import Foundation
import Testing

@testable import StorageKit

struct ProjectIDTests {
    @Test(arguments: [
        ("demo", "demo" as String?),
        ("Project_2-b", "Project_2-b"),
        ("My Project!", "MyProject"),
        ("../etc", "etc"),
        ("/abs/path", "abspath"),
        ("a.b", "ab"),
        ("projét", "projt"),
        ("a\0b", "ab"),
        ("line\nbreak", "linebreak"),
        ("🎬 demo", "demo"),
        (String(repeating: "x", count: 64), String(repeating: "x", count: 64)),
        (String(repeating: "y", count: 65), String(repeating: "y", count: 64)),
        (String(repeating: "z", count: 300), String(repeating: "z", count: 64)),
        (String(repeating: ".", count: 10) + String(repeating: "k", count: 70), String(repeating: "k", count: 64)),
        ("", nil),
        ("...", nil),
        ("../..", nil),
        ("🎬", nil),
        ("日本語", nil),
        (" \t\n", nil),
    ])
    func sanitizing(raw: String, expected: String?) {
        let id = ProjectID(sanitizing: raw)
        #expect(id?.rawValue == expected)
        if let id {
            #expect(id.rawValue.count <= ProjectID.maxLength)
            #expect(id.rawValue.unicodeScalars.allSatisfy(ProjectID.isAllowed))
        }
    }

    @Test(arguments: [
        ("demo", true), ("A-Z_0-9", true), (String(repeating: "x", count: 64), true),
        (String(repeating: "x", count: 65), false), ("", false), ("My Project", false), ("a/b", false),
        ("../etc", false), ("a.b", false), ("projét", false), ("a\0", false),
    ])
    func exactlyRefusesAnythingThatNeedsSanitizing(raw: String, valid: Bool) {
        let id = ProjectID(exactly: raw)
        #expect((id != nil) == valid)
        if valid { #expect(id?.rawValue == raw) }
    }

    @Test func folderNameAndDescription() throws {
        let id = try #require(ProjectID(exactly: "demo"))
        #expect(id.folderName == "project_demo")
        #expect(id.description == "demo")
    }

    @Test func codableAsAPlainStringAndRefusesBadIds() throws {
        let id = try #require(ProjectID(exactly: "demo-1"))
        let data = try JSONEncoder().encode([id])
        #expect(String(decoding: data, as: UTF8.self) == #"["demo-1"]"#)
        #expect(try JSONDecoder().decode([ProjectID].self, from: data) == [id])
        #expect(throws: DecodingError.self) {
            _ = try JSONDecoder().decode([ProjectID].self, from: Data(#"["../etc"]"#.utf8))
        }
        #expect(throws: DecodingError.self) {
            _ = try JSONDecoder().decode([ProjectID].self, from: Data(#"[""]"#.utf8))
        }
    }

    @Test func orderIsByRawValue() throws {
        let ids = ["b", "a", "C"].compactMap { ProjectID(exactly: $0) }
        #expect(ids.sorted().map(\.rawValue) == ["C", "a", "b"])
    }
}
