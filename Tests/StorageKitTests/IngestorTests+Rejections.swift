import Foundation
import IngestConfig
import Logging
import Testing

@testable import StorageKit

#if canImport(Glibc)
import Glibc
#endif

/// Files `Ingestor` refuses: each moved to `rejected/` with its reason file, nothing lost, nothing recorded.
extension IngestorTests {
    @Test func extensionNotAllowed() throws {
        let b = try Bench()
        defer { b.remove() }
        let bytes = patternBytes(100)
        let source = try writeFile(b.drop + "/demo/notes.txt", bytes)
        try Self.expectRejected(
            b.ingest(source, project: "demo"),
            b,
            reason: .extensionNotAllowed,
            name: "notes.txt",
            source: source,
            bytes: bytes
        )
        let noExt = try writeFile(b.drop + "/demo/README", bytes)
        try Self.expectRejected(
            b.ingest(noExt, project: "demo"),
            b,
            reason: .extensionNotAllowed,
            name: "README",
            source: noExt,
            bytes: bytes
        )
        #expect(try b.catalog.allAssets().isEmpty)
    }

    @Test(.timeLimit(.minutes(3)))
    func tooLarge() async throws {
        var b = try Bench()
        defer { b.remove() }
        b.config.uploadMaxSize = 1000
        let source = try b.put(try await b.clips.h264VideoOnly(), at: "demo/big.mp4")
        let bytes = try Checksums.bytes(source)
        try Self.expectRejected(
            b.ingest(source, project: "demo"),
            b,
            reason: .tooLarge,
            name: "big.mp4",
            source: source,
            bytes: bytes
        )
        // Exactly at the limit is allowed.
        b.config.uploadMaxSize = Int64(bytes.count)
        let again = try writeFile(b.drop + "/demo/fits.mp4", bytes)
        #expect(try Self.stored(b.ingest(again, project: "demo")).sizeBytes == Int64(bytes.count))
    }

    @Test func empty() throws {
        let b = try Bench()
        defer { b.remove() }
        let source = try writeFile(b.drop + "/demo/empty.mp4", [])
        try Self.expectRejected(
            b.ingest(source, project: "demo"),
            b,
            reason: .empty,
            name: "empty.mp4",
            source: source,
            bytes: []
        )
    }

    @Test(.timeLimit(.minutes(3)))
    func garbageIsNotMedia() throws {
        let b = try Bench()
        defer { b.remove() }
        let source = try b.put(try b.clips.garbage("fake.mp4"), at: "demo/fake.mp4")
        let bytes = try Checksums.bytes(source)
        try Self.expectRejected(
            b.ingest(source, project: "demo"),
            b,
            reason: .notMedia,
            name: "fake.mp4",
            source: source,
            bytes: bytes
        )
        #expect(try b.catalog.allAssets().isEmpty)
    }

    @Test(.timeLimit(.minutes(3)))
    func anAVIRenamedToMP4IsNotMedia() async throws {
        let b = try Bench()
        defer { b.remove() }
        let source = try b.put(try await b.clips.avi("disguised.mp4", codec: "mjpeg"), at: "demo/disguised.mp4")
        let bytes = try Checksums.bytes(source)
        try Self.expectRejected(
            b.ingest(source, project: "demo"),
            b,
            reason: .notMedia,
            name: "disguised.mp4",
            source: source,
            bytes: bytes
        )
    }

    @Test(.timeLimit(.minutes(3)))
    func anMP4RenamedToAVIIsNotMedia() async throws {
        let b = try Bench()
        defer { b.remove() }
        let source = try b.put(try await b.clips.h264VideoOnly(), at: "demo/disguised.avi")
        let bytes = try Checksums.bytes(source)
        try Self.expectRejected(
            b.ingest(source, project: "demo"),
            b,
            reason: .notMedia,
            name: "disguised.avi",
            source: source,
            bytes: bytes
        )
    }

    @Test(.timeLimit(.minutes(3)))
    func audioOnlyIsNoVideo() async throws {
        let b = try Bench()
        defer { b.remove() }
        let source = try b.put(try await b.clips.audioOnly(), at: "demo/audio.mp4")
        let bytes = try Checksums.bytes(source)
        try Self.expectRejected(
            b.ingest(source, project: "demo"),
            b,
            reason: .noVideo,
            name: "audio.mp4",
            source: source,
            bytes: bytes
        )
    }

    @Test(.timeLimit(.minutes(3)))
    func aPartialCopyIsTruncated() async throws {
        let b = try Bench()
        defer { b.remove() }
        let clip = try await b.clips.h264WithAudio()
        let half = try b.clips.truncatedCopy(of: clip, named: "half.mp4", fraction: 0.6)
        let source = try b.put(half, at: "demo/half.mp4")
        let bytes = try Checksums.bytes(source)
        #expect(bytes.count == Int(Double(try Checksums.bytes(clip).count) * 0.6))
        try Self.expectRejected(
            b.ingest(source, project: "demo"),
            b,
            reason: .truncated,
            name: "half.mp4",
            source: source,
            bytes: bytes
        )
    }

    @Test func symlinksAreRejectedAsThemselves() throws {
        let b = try Bench()
        defer { b.remove() }
        let target = try writeFile(b.dir.path + "/outside/real.mp4", patternBytes(500))
        try b.dir.folder("drop/demo")
        try b.dir.symlink("drop/demo/link.mp4", to: target)
        let source = b.drop + "/demo/link.mp4"
        try Self.expectRejected(
            b.ingest(source, project: "demo"),
            b,
            reason: .symlink,
            name: "link.mp4",
            source: source,
            bytes: nil,
            kind: "link"
        )
        let moved = b.layout.projectPath(.rejected, Fixture.demo) + "/link.mp4"
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: moved) == target)
        #expect(try Checksums.bytes(target) == patternBytes(500))
    }

    @Test(.timeLimit(.minutes(3)))
    func fifosAreSpecialFilesAndNeverOpened() throws {
        let b = try Bench()
        defer { b.remove() }
        try b.dir.folder("drop/demo")
        try b.dir.fifo("drop/demo/pipe.mp4")
        let source = b.drop + "/demo/pipe.mp4"
        let watch = FIFOWatch(paths: [source, b.layout.projectPath(.rejected, Fixture.demo) + "/pipe.mp4"])
        let outcome = b.ingest(source, project: "demo")
        #expect(watch.finish() == false, "the FIFO was opened")
        try Self.expectRejected(
            outcome,
            b,
            reason: .specialFile,
            name: "pipe.mp4",
            source: source,
            bytes: nil,
            kind: "fifo"
        )
    }

    @Test(.timeLimit(.minutes(3)))
    func hardLinkedFilesAreRejected() async throws {
        let b = try Bench()
        defer { b.remove() }
        let source = try b.put(try await b.clips.h264VideoOnly(), at: "demo/linked.mp4")
        let bytes = try Checksums.bytes(source)
        let other = b.dir.path + "/elsewhere.mp4"
        #expect(link(source, other) == 0)
        try Self.expectRejected(
            b.ingest(source, project: "demo"),
            b,
            reason: .hardLinks,
            name: "linked.mp4",
            source: source,
            bytes: bytes
        )
        #expect(try Checksums.bytes(other) == bytes)
        #expect(try b.catalog.allAssets().isEmpty)
    }

    @Test(.timeLimit(.minutes(3)))
    func duplicatesAreRejectedWhenTheRuleSaysReject() async throws {
        let b = try Bench()
        defer { b.remove() }
        let clip = try await b.clips.h264WithAudio()
        let first = try Self.stored(b.ingest(try b.put(clip, at: "demo/a.mp4"), project: "demo"))
        let second = try b.put(clip, at: "demo/b.mp4")
        let outcome = b.ingest(second, project: "demo")
        try Self.expectRejected(
            outcome,
            b,
            reason: .duplicate,
            name: "b.mp4",
            source: second,
            bytes: try Checksums.bytes(clip)
        )
        if case .rejected(let r, _, _) = outcome { #expect(r.detail.contains(first.id)) }
        #expect(try b.catalog.allAssets().map(\.id) == [first.id])
        // The same bytes in another project are not a duplicate.
        let third = try Self.stored(b.ingest(try b.put(clip, at: "other/c.mp4"), project: "other"))
        #expect(third.checksum == first.checksum)
    }

    @Test(.timeLimit(.minutes(3)))
    func duplicatesAreStoredWhenTheRuleSaysKeep() async throws {
        var b = try Bench()
        defer { b.remove() }
        b.config.duplicates = .keep
        let clip = try await b.clips.h264WithAudio()
        let first = try Self.stored(b.ingest(try b.put(clip, at: "demo/a.mp4"), project: "demo"))
        let second = try Self.stored(b.ingest(try b.put(clip, at: "demo/a.mp4"), project: "demo"))
        #expect(first.checksum == second.checksum)
        #expect(first.id != second.id)
        #expect(first.filename != second.filename)
        #expect(b.uploads().sorted() == [first.filename, second.filename].sorted())
        #expect(try b.catalog.allAssets().count == 2)
    }

    @Test(.timeLimit(.minutes(3)))
    func filesPastTheProjectQuotaAreRejected() async throws {
        var b = try Bench()
        defer { b.remove() }
        let one = try await b.clips.h264WithAudio("one.mp4")
        let two = try await b.clips.h264VideoOnly("two.mp4")
        let sizeOne = Int64(try Checksums.bytes(one).count)
        let sizeTwo = Int64(try Checksums.bytes(two).count)
        b.config.projectQuotaBytes = sizeOne + sizeTwo - 1
        _ = try Self.stored(b.ingest(try b.put(one, at: "demo/one.mp4"), project: "demo"))
        let source = try b.put(two, at: "demo/two.mp4")
        try Self.expectRejected(
            b.ingest(source, project: "demo"),
            b,
            reason: .quotaExceeded,
            name: "two.mp4",
            source: source,
            bytes: try Checksums.bytes(two)
        )
        // Another project has its own quota; exactly reaching it is allowed.
        b.config.projectQuotaBytes = sizeTwo
        _ = try Self.stored(b.ingest(try b.put(two, at: "other/two.mp4"), project: "other"))
    }

    @Test func aProjectThatSanitizesToNothingIsInvalid() throws {
        var b = try Bench()
        defer { b.remove() }
        b.config.defaultProject = "inbox"
        let bytes = patternBytes(300)
        let source = try writeFile(b.drop + "/!!!/clip.mp4", bytes)
        try Self.expectRejected(
            b.ingest(source, project: nil),
            b,
            reason: .invalidProject,
            project: "inbox",
            name: "clip.mp4",
            source: source,
            bytes: bytes
        )
    }

    @Test func rejectedNamesNeverClash() throws {
        let b = try Bench()
        defer { b.remove() }
        for n in 0..<3 {
            let source = try writeFile(b.drop + "/demo/notes.txt", [UInt8(n)])
            try Self.expectRejected(
                b.ingest(source, project: "demo"),
                b,
                reason: .extensionNotAllowed,
                name: n == 0 ? "notes.txt" : "notes-\(n).txt",
                source: source,
                bytes: [UInt8(n)]
            )
        }
    }

    @Test func aVanishedFileIsReportedAsSuch() throws {
        let b = try Bench()
        defer { b.remove() }
        guard case .vanished = b.ingest(b.drop + "/demo/never.mp4", project: "demo") else {
            Issue.record("expected .vanished")
            return
        }
        #expect(b.rejected().isEmpty)
    }
}
