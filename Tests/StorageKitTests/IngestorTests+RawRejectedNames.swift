import Foundation
import IngestConfig
import Testing

@testable import StorageKit

#if canImport(Glibc)
import Glibc
#endif

/// Audit of 2026-12-08: a dropped name that is not UTF-8 kept its bytes in `rejected/` only when it was refused
/// before its content was read (`empty`, `extension_not_allowed`, …); refused after (`not_media`, `no_video`, a
/// content that is not what its extension promises) it was stored under its text, U+FFFD in place of each byte
/// that is not UTF-8, so `clip\xe9.mp4` and `clip\xe8.mp4` became `clip\u{FFFD}.mp4` and `clip\u{FFFD}-1.mp4`.
extension IngestorTests {
    @Test(.timeLimit(.minutes(3)))
    func aNameThatIsNotUTF8IsKeptWhenItsContentIsRejected() async throws {
        let b = try Bench()
        defer { b.remove() }
        let garbage = try Checksums.bytes(try b.clips.garbage("garbage.mp4"))
        let audio = try Checksums.bytes(try await b.clips.audioOnly())
        let video = try Checksums.bytes(try await b.clips.h264VideoOnly())
        func name(_ stem: String, _ byte: UInt8, _ ext: String) -> [UInt8] {
            Array(stem.utf8) + [byte] + Array(ext.utf8)
        }
        let cases: [(name: [UInt8], contents: [UInt8], reason: RejectionReason)] = [
            (name("clip", 0xE9, ".mp4"), garbage, .notMedia),
            (name("clip", 0xE8, ".mp4"), garbage + [0], .notMedia),
            (name("audio", 0xFF, ".mp4"), audio, .noVideo),
            (name("disguised", 0xFE, ".avi"), video, .notMedia),
        ]
        let demo = try #require(ProjectID(exactly: "demo"))
        let folder = RawPath(b.layout.projectPath(.rejected, demo))
        try FileManager.default.createDirectory(atPath: b.drop + "/demo", withIntermediateDirectories: true)
        for c in cases {
            let source = RawPath(b.drop + "/demo").appending(c.name)
            let fd = source.withCString { open($0, O_CREAT | O_WRONLY | O_TRUNC, 0o644) }
            #expect(fd >= 0)
            _ = c.contents.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            close(fd)
            let outcome = b.ingestor.ingestDropped(source: source, project: demo, policy: IngestPolicy(b.config))
            guard case .rejected(let rejection, _, let storedAs) = outcome else {
                Issue.record("expected a rejection, got \(outcome)")
                continue
            }
            #expect(rejection.reason == c.reason, "\(rejection.detail)")
            #expect(storedAs == String(decoding: c.name, as: UTF8.self))
            #expect(try FileOps.lstat(source) == nil)
            let fd2 = try FileOps.openForReading(folder.appending(c.name))
            var stored = [UInt8](repeating: 0, count: c.contents.count + 1)
            let n = stored.withUnsafeMutableBytes { read(fd2, $0.baseAddress, $0.count) }
            close(fd2)
            #expect(Array(stored.prefix(max(n, 0))) == c.contents, "its own bytes under its own name")
        }
        let expected = cases.flatMap { [$0.name, $0.name + Array(".reason.json".utf8)] }
        #expect(
            try rawNames(folder.description)
                == expected.sorted { $0.lexicographicallyPrecedes($1) }
        )
        #expect(try b.catalog.allAssets().isEmpty)
        #expect(b.staging.isEmpty)
        #expect(try b.catalog.pendingMoves().isEmpty)
    }
}

/// The bytes of every name in `folder`, sorted.
func rawNames(_ folder: String) throws -> [[UInt8]] {
    let stream = try DirectoryStream(opening: folder)
    var names: [[UInt8]] = []
    while let entry = try stream.next() {
        let name = entry.nameBytes
        if name != [0x2E], name != [0x2E, 0x2E] { names.append(name) }
    }
    return names.sorted { $0.lexicographicallyPrecedes($1) }
}
