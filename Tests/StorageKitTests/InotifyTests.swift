import Foundation
import SystemPackage
import Testing

@testable import StorageKit

#if canImport(Glibc)
import Glibc
#endif

/// The inotify wrapper: records parsed without trusting their lengths, and real events from a watched folder.
struct InotifyTests {
    /// One `struct inotify_event` as the kernel writes it: `wd`, `mask`, `cookie`, `len`, then the padded name.
    private static func record(watch: Int32, mask: UInt32, name: String, padTo length: Int? = nil) -> [UInt8] {
        var name = Array(name.utf8)
        if !name.isEmpty { name += [UInt8](repeating: 0, count: (length ?? (name.count + 4)) - name.count) }
        var bytes: [UInt8] = []
        withUnsafeBytes(of: watch.littleEndian) { bytes += $0 }
        withUnsafeBytes(of: mask.littleEndian) { bytes += $0 }
        withUnsafeBytes(of: UInt32(0)) { bytes += $0 }
        withUnsafeBytes(of: UInt32(name.count).littleEndian) { bytes += $0 }
        return bytes + name
    }

    private static func parse(_ bytes: [UInt8]) -> [Inotify.Event] {
        var events: [Inotify.Event] = []
        Inotify.parse(bytes[...]) { events.append($0) }
        return events
    }

    @Test func recordsFollowingEachOtherAreParsedWithTheirNames() {
        let bytes =
            Self.record(watch: 1, mask: UInt32(IN_CLOSE_WRITE), name: "a.mp4", padTo: 16)
            + Self.record(watch: 2, mask: UInt32(IN_IGNORED), name: "")
            + Self.record(watch: 1, mask: UInt32(IN_MOVED_TO) | 0x4000_0000, name: "sub")
        #expect(
            Self.parse(bytes) == [
                .init(watch: 1, mask: .closedAfterWriting, name: Array("a.mp4".utf8)),
                .init(watch: 2, mask: .watchRemoved, name: []),
                .init(watch: 1, mask: [.movedTo, .isFolder], name: Array("sub".utf8)),
            ]
        )
    }

    /// A length running past the bytes read, or a header cut short, never reads beyond them.
    @Test func aLengthPastTheEndIsCutAndAPartialHeaderEndsTheParse() {
        var lying = Self.record(watch: 3, mask: UInt32(IN_CREATE), name: "x.mov", padTo: 8)
        lying.replaceSubrange(12..<16, with: [0xFF, 0xFF, 0xFF, 0xFF])
        #expect(Self.parse(lying) == [.init(watch: 3, mask: .created, name: Array("x.mov".utf8))])
        let partial = Self.record(watch: 4, mask: UInt32(IN_CREATE), name: "y", padTo: 4) + [1, 2, 3]
        #expect(Self.parse(partial) == [.init(watch: 4, mask: .created, name: Array("y".utf8))])
        #expect(Self.parse([]).isEmpty)
    }

    @Test func aWatchedFolderReportsAFileWrittenAndAFolderMadeInIt() throws {
        let dir = try TempDir("inotify")
        defer { dir.remove() }
        let inotify = try Inotify()
        let watch = try inotify.addWatch(RawPath(dir.path), mask: [.closedAfterWriting, .created, .onlyFolders]).get()
        try dir.file("clip.mp4", size: 10)
        try FileManager.default.createDirectory(atPath: dir.path + "/folder", withIntermediateDirectories: false)
        var buffer = [UInt8](repeating: 0, count: Inotify.minimumBuffer)
        var events: [Inotify.Event] = []
        inotify.readQueued(into: &buffer) { events.append($0) }
        #expect(
            events.contains {
                $0.watch == watch && $0.mask.contains(.closedAfterWriting) && $0.name == Array("clip.mp4".utf8)
            }
        )
        #expect(events.contains { $0.mask.contains([.created, .isFolder]) && $0.name == Array("folder".utf8) })
        // Nothing more is queued: the read returns at once.
        var more = 0
        inotify.readQueued(into: &buffer) { _ in more += 1 }
        #expect(more == 0)
    }

    @Test func aFileIsNotWatchedAsAFolderAndAMissingFolderSaysSo() throws {
        let dir = try TempDir("inotify")
        defer { dir.remove() }
        let inotify = try Inotify()
        let file = try dir.file("clip.mp4", size: 1)
        #expect(inotify.addWatch(RawPath(file), mask: [.created, .onlyFolders]) == .failure(.notDirectory))
        #expect(
            inotify.addWatch(RawPath(dir.path + "/missing"), mask: [.created]) == .failure(.noSuchFileOrDirectory)
        )
    }
}
