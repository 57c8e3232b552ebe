import Dispatch
import Foundation
import Synchronization
import Testing

@testable import IngestDaemon

#if canImport(Glibc)
import Glibc
import TestSupport
#endif

/// `ingestctl projects` and `ingestctl download` against the fake backend's files.
@Suite("ingestctl projects and download", .serialized, .timeLimit(.minutes(4)))
struct ControlCtlDownloadTests {
    struct Run: Sendable {
        var code: Int32
        var out: [UInt8]
        var err: String
    }

    /// Runs the built ingestctl; stdout is kept as bytes (downloads to `-o -` are binary).
    static func ctl(_ args: [String], in directory: String? = nil) async throws -> Run {
        guard let binary = ControlCtlTests.binary else { throw TestError("ingestctl is not built next to the tests") }
        let run = try await Program.run(
            binary,
            args,
            environment: ["PATH": "/usr/bin:/bin"],
            directory: directory,
            timeout: .seconds(100)
        )
        return Run(code: run.status, out: run.stdout, err: run.stderrText)
    }

    @Test(.enabled(if: ControlCtlTests.binary != nil)) func projectsTableAndJSON() async throws {
        let t = try await TestServer.start()
        defer { Task { await t.stop() } }
        let table = try await Self.ctl(["projects", "--socket", t.socket])
        let text = String(decoding: table.out, as: UTF8.self)
        #expect(table.code == 0)
        #expect(text.contains("PROJECT") && text.contains("REJECTED") && text.contains("only-rejected"))
        let json = try await Self.ctl(["--socket", t.socket, "--json", "projects"])
        let parsed = try JSONSerialization.jsonObject(with: Data(json.out)) as? [[String: Any]]
        #expect(parsed?.first?["project_id"] as? String == "demo" && parsed?.first?["rejected"] as? Int == 1)
        let raw = try await fetch(t.socket, "GET", "/projects")
        #expect(raw.status == 200 && raw.text.hasPrefix("[{\"project_id\":\"demo\""))
    }

    @Test(.enabled(if: ControlCtlTests.binary != nil)) func downloadsToFilesFoldersAndStdout() async throws {
        let (t, contents) = try await ControlDeliveryTests.start(contentSize: 3 << 20)
        defer { Task { await t.stop() } }
        let out = t.dir.path + "/out"
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let s = ["--socket", t.socket]
        // The original name in the current folder.
        let plain = try await Self.ctl(["download", "demo", "d1"] + s, in: out)
        #expect(plain.code == 0, "\(plain.err)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: out + "/clip.mp4")) == Data(contents["/content"]!))
        #expect(!plain.err.contains("["))  // no progress bar when stderr is not a terminal
        // Into a folder, a rendition by its name.
        let rendition = try await Self.ctl(["download", "demo", "d1", "--rendition", "360p", "-o", out] + s)
        #expect(rendition.code == 0, "\(rendition.err)")
        #expect(
            try Data(contentsOf: URL(fileURLWithPath: out + "/clip-360p.webm")) == Data(contents["/renditions/360p"]!)
        )
        // To a named file, and to stdout.
        let named = try await Self.ctl(["download", "demo", "d1", "-o", out + "/x.bin", "--json"] + s)
        #expect(named.code == 0 && String(decoding: named.out, as: UTF8.self).contains("\"resumed_from\":0"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: out + "/x.bin")) == Data(contents["/content"]!))
        let stdout = try await Self.ctl(["download", "demo", "d1", "-o", "-"] + s)
        #expect(stdout.code == 0 && stdout.out == contents["/content"]!)
        #expect(!FileManager.default.fileExists(atPath: out + "/x.bin.part"))
        #expect(!FileManager.default.fileExists(atPath: out + "/x.bin.part.etag"))
    }

    @Test(.enabled(if: ControlCtlTests.binary != nil)) func resumesOnlyWhatMatchesTheDaemonsFile() async throws {
        let (t, contents) = try await ControlDeliveryTests.start(contentSize: 2 << 20)
        defer { Task { await t.stop() } }
        let bytes = contents["/content"]!
        let etag = "\"\(sha256Hex(bytes))\""
        let target = t.dir.path + "/resume.mp4"
        let s = ["--socket", t.socket, "--json"]
        func prepare(_ part: [UInt8], tag: String?) throws {
            try Data(part).write(to: URL(fileURLWithPath: target + ".part"))
            if let tag { try Data((tag + "\n").utf8).write(to: URL(fileURLWithPath: target + ".part.etag")) }
        }
        func check(_ run: Run, resumedFrom: Int) throws {
            #expect(run.code == 0, "\(run.err)")
            #expect(String(decoding: run.out, as: UTF8.self).contains("\"resumed_from\":\(resumedFrom)"), "\(run.err)")
            #expect(try Data(contentsOf: URL(fileURLWithPath: target)) == Data(bytes))
            #expect(!FileManager.default.fileExists(atPath: target + ".part"))
            #expect(!FileManager.default.fileExists(atPath: target + ".part.etag"))
            unlink(target)
        }
        // A cut download with the daemon's ETag: only the rest is fetched.
        try prepare(Array(bytes.prefix(1_000_003)), tag: etag)
        try check(try await Self.ctl(["download", "demo", "d1", "-o", target] + s), resumedFrom: 1_000_003)
        // All bytes there but not yet renamed.
        try prepare(bytes, tag: etag)
        try check(try await Self.ctl(["download", "demo", "d1", "-o", target] + s), resumedFrom: bytes.count)
        // The part is of another version of the file: started over.
        try prepare(Array(repeating: 0x55, count: 5000), tag: "\"someone-else\"")
        try check(try await Self.ctl(["download", "demo", "d1", "-o", target] + s), resumedFrom: 0)
        // A part longer than the file (416 that does not fit), or with no tag: started over.
        try prepare(bytes + [1, 2, 3], tag: etag)
        try check(try await Self.ctl(["download", "demo", "d1", "-o", target] + s), resumedFrom: 0)
        try prepare(Array(bytes.prefix(10)), tag: nil)
        try check(try await Self.ctl(["download", "demo", "d1", "-o", target] + s), resumedFrom: 0)
    }

    /// Without `-o` (or with `-o` a folder) the name is ingestctl's choice, and an existing file of that name was
    /// silently replaced (audit: `echo precious > f4.mp4; ingestctl download default <id>` → "saved f4.mp4"). It
    /// is refused untouched, exit 2 (the command line must change: `-o`), naming the file and the ways on; a cut
    /// download of the same name still resumes, and `-o FILE` naming the file replaces it as asked.
    @Test(.enabled(if: ControlCtlTests.binary != nil)) func anExistingFileIsNotReplacedUnasked() async throws {
        let (t, contents) = try await ControlDeliveryTests.start(contentSize: 2 << 20)
        defer { Task { await t.stop() } }
        let bytes = contents["/content"]!
        let out = t.dir.path + "/here"
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let s = ["--socket", t.socket]
        let precious = Data("precious\n".utf8)
        try precious.write(to: URL(fileURLWithPath: out + "/clip.mp4"))
        try precious.write(to: URL(fileURLWithPath: out + "/clip-360p.webm"))
        for (args, name) in [
            (["download", "demo", "d1"], "clip.mp4"), (["download", "demo", "d1", "-o", out], "clip.mp4"),
            (["download", "demo", "d1", "--rendition", "360p", "-o", out + "/"], "clip-360p.webm"),
        ] {
            let refused = try await Self.ctl(args + s, in: out)
            #expect(refused.code == 2, "\(args): \(refused.err)")
            #expect(refused.err.contains(name) && refused.err.contains("already exists"), "\(refused.err)")
            #expect(refused.err.contains("-o FILE") && refused.err.contains("remove"), "\(refused.err)")
            #expect(try Data(contentsOf: URL(fileURLWithPath: out + "/" + name)) == precious)
            #expect(!FileManager.default.fileExists(atPath: out + "/" + name + ".part"))
            #expect(!FileManager.default.fileExists(atPath: out + "/" + name + ".part.etag"))
        }
        // -o naming the file: replaced, as asked.
        let named = try await Self.ctl(["download", "demo", "d1", "-o", out + "/clip.mp4"] + s)
        #expect(named.code == 0, "\(named.err)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: out + "/clip.mp4")) == Data(bytes))

        // A cut download under the default name resumes without -o.
        let fresh = t.dir.path + "/fresh"
        try FileManager.default.createDirectory(atPath: fresh, withIntermediateDirectories: true)
        try Data(bytes.prefix(700_001)).write(to: URL(fileURLWithPath: fresh + "/clip.mp4.part"))
        try Data("\"\(sha256Hex(bytes))\"\n".utf8).write(to: URL(fileURLWithPath: fresh + "/clip.mp4.part.etag"))
        let resumed = try await Self.ctl(["download", "demo", "d1", "--json"] + s, in: fresh)
        #expect(resumed.code == 0, "\(resumed.err)")
        #expect(String(decoding: resumed.out, as: UTF8.self).contains("\"resumed_from\":700001"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: fresh + "/clip.mp4")) == Data(bytes))
        #expect(!FileManager.default.fileExists(atPath: fresh + "/clip.mp4.part"))
    }

    /// A folder that does not exist is a local problem with `-o`, not the daemon refusing (audit: exit 1).
    @Test(.enabled(if: ControlCtlTests.binary != nil)) func anOutputInAMissingFolderIsAUsageError() async throws {
        let (t, _) = try await ControlDeliveryTests.start()
        defer { Task { await t.stop() } }
        let missing = t.dir.path + "/no-such-dir"
        let run = try await Self.ctl(["download", "demo", "d1", "-o", missing + "/x.mp4", "--socket", t.socket])
        #expect(run.code == 2, "\(run.err)")
        #expect(run.err.contains(missing) && run.err.contains("does not exist"), "\(run.err)")
        #expect(!FileManager.default.fileExists(atPath: missing))
    }

    @Test(.enabled(if: ControlCtlTests.binary != nil)) func exitCodes() async throws {
        let (t, _) = try await ControlDeliveryTests.start()
        defer { Task { await t.stop() } }
        let s = ["--socket", t.socket]
        let dir = t.dir.path
        let missing = try await Self.ctl(["download", "demo", "nope", "-o", dir + "/a"] + s)
        #expect(missing.code == 1 && missing.err.contains("404"))
        let noRendition = try await Self.ctl(["download", "demo", "d1", "--rendition", "1080p", "-o", dir + "/a"] + s)
        #expect(noRendition.code == 1 && noRendition.err.contains("720p, 360p"))
        #expect(try await Self.ctl(["download", "bad project", "d1"] + s).code == 2)
        #expect(try await Self.ctl(["download", "demo"] + s).code == 2)
        #expect(
            try await Self.ctl(["download", "demo", "d1", "--socket", dir + "/none.sock", "-o", dir + "/a"]).code == 3
        )
        #expect(!FileManager.default.fileExists(atPath: dir + "/a"))
    }
}
