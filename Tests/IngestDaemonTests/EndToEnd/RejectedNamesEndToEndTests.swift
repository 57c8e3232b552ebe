import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Audit of 2026-12-08, through the built daemon: a rejected file keeps its own name, byte for byte even when
/// the rejection came after its content was read, and a long name keeps its extension with room for its
/// `<name>.reason.json`.
@Suite(.timeLimit(.minutes(4)))
struct RejectedNamesEndToEndTests {
    /// `folder/name` as a C path, `name` in raw bytes.
    static func cPath(_ folder: String, _ name: [UInt8]) -> [CChar] {
        Array((folder + "/").utf8CString.dropLast()) + name.map { CChar(bitPattern: $0) } + [0]
    }

    static func exists(_ folder: String, _ name: [UInt8]) -> Bool {
        var info = stat()
        return lstat(cPath(folder, name), &info) == 0
    }

    static func create(_ folder: String, _ name: [UInt8], _ contents: [UInt8]) {
        let fd = open(cPath(folder, name), O_CREAT | O_WRONLY | O_EXCL, 0o644)
        #expect(fd >= 0)
        _ = contents.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
    }

    /// The bytes of every name in `folder`, sorted.
    static func rawNames(_ folder: String) -> [[UInt8]] {
        guard let dir = opendir(folder) else { return [] }
        defer { closedir(dir) }
        var names: [[UInt8]] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { Array($0.prefix { $0 != 0 }) }
            if name != [0x2E], name != [0x2E, 0x2E] { names.append(name) }
        }
        return names.sorted { $0.lexicographicallyPrecedes($1) }
    }

    static let reasonSuffix = Array(".reason.json".utf8)

    @Test func aNameThatIsNotUTF8IsKeptWhenItsContentIsRejected() async throws {
        let h = try DaemonHarness()
        defer { h.remove() }
        try await h.start()
        let drop = h.drop + "/nu"
        let rejected = h.storage + "/rejected/project_nu"
        try FileManager.default.createDirectory(atPath: drop, withIntermediateDirectories: true)
        func name(_ stem: String, _ byte: UInt8) -> [UInt8] { Array(stem.utf8) + [byte] + Array(".mp4".utf8) }
        let notMedia1 = name("clip", 0xE9)
        let notMedia2 = name("clip", 0xE8)
        let empty = name("clip", 0xE7)
        Self.create(drop, notMedia1, Array(repeating: 0x41, count: 3000))
        Self.create(drop, notMedia2, Array(repeating: 0x42, count: 3000))
        Self.create(drop, empty, [])
        let expected = [empty, notMedia2, notMedia1].flatMap { [$0, $0 + Self.reasonSuffix] }
        try await waitUntil("the three files are rejected") { Self.rawNames(rejected).count >= 6 }
        try await Task.sleep(for: .milliseconds(300))
        #expect(Self.rawNames(rejected) == expected, "\(Self.rawNames(rejected).map { $0.hexString })")
        // Listed as every name that is not UTF-8 is (as the `empty` one was already): as text.
        let listed = try await h.request("GET", "/projects/nu/rejected").array()
        #expect(listed.map { $0["name"] as? String } == Array(repeating: "clip\u{FFFD}.mp4", count: 3))
        #expect(listed.map { $0["reason"] as? String } == ["empty", "not_media", "not_media"])

        // A not_media file whose text names only it goes back through the pipeline by that text, and is
        // rejected again under its own bytes.
        let single = name("vid", 0xFF)
        Self.create(drop, single, Array(repeating: 0x43, count: 3000))
        try await waitUntil("vid is rejected") { Self.exists(rejected, single + Self.reasonSuffix) }
        let before = try #require(
            try await h.request("GET", "/projects/nu/rejected").array().first {
                $0["name"] as? String == "vid\u{FFFD}.mp4"
            }
        )
        #expect(before["reason"] as? String == "not_media")
        try await Task.sleep(for: .milliseconds(20))
        let retry = try await h.request("POST", "/projects/nu/rejected/vid%EF%BF%BD.mp4/retry")
        #expect(retry.status == 202, "\(retry.text)")
        try await waitUntil("vid is rejected again") {
            let again = try await h.request("GET", "/projects/nu/rejected").array()
                .first { $0["name"] as? String == "vid\u{FFFD}.mp4" }
            return again != nil && again?["rejected_at"] as? String != before["rejected_at"] as? String
        }
        #expect(
            Self.rawNames(rejected)
                == (expected + [single, single + Self.reasonSuffix]).sorted {
                    $0.lexicographicallyPrecedes($1)
                }
        )
        #expect(Self.rawNames(drop).isEmpty)
        #expect(try await h.stop() == 0)
    }

    @Test func aLongNameKeepsItsExtensionInRejected() async throws {
        let h = try DaemonHarness()
        defer { h.remove() }
        try await h.start()
        let long = String(repeating: "E", count: 246) + ".mp4"
        let rejected = h.storage + "/rejected/project_default"
        let first = String(repeating: "E", count: 239) + ".mp4"
        let second = String(repeating: "E", count: 237) + "-1.mp4"
        try h.drop(bytes: [], as: long)
        try await waitUntil("the first is rejected") { FileManager.default.fileExists(atPath: rejected + "/" + first) }
        try h.drop(bytes: [], as: long)
        try await waitUntil("the second is rejected") {
            FileManager.default.fileExists(atPath: rejected + "/" + second)
        }
        try await Task.sleep(for: .milliseconds(300))
        #expect(listing(rejected) == [second, second + ".reason.json", first, first + ".reason.json"].sorted())
        #expect(h.rejectionReason(project: "default", name: first) == "empty")
        let listed = try await h.request("GET", "/projects/default/rejected").array()
        #expect(listed.map { $0["original_filename"] as? String } == [long, long])

        // Retry puts it back under the name it was dropped with; rejected again, it takes its place again.
        let at = try #require(listed.first { $0["name"] as? String == first }?["rejected_at"] as? String)
        try await Task.sleep(for: .milliseconds(20))
        let retry = try await h.request("POST", "/projects/default/rejected/\(first)/retry")
        #expect(retry.status == 202, "\(retry.text)")
        try await waitUntil("it is rejected again") {
            let again = try await h.request("GET", "/projects/default/rejected").array()
                .first { $0["name"] as? String == first }
            return again != nil && again?["rejected_at"] as? String != at
        }
        #expect(listing(rejected) == [second, second + ".reason.json", first, first + ".reason.json"].sorted())
        #expect(listing(h.drop + "/default").isEmpty, "the retried file went back and was taken again")
        #expect(try await h.stop() == 0)
    }
}

/// Names in `path` (empty when it does not exist), sorted.
private func listing(_ path: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted()
}

extension [UInt8] {
    fileprivate var hexString: String { map { String(format: "%02x", $0) }.joined() }
}
