import Foundation
import SystemPackage
import Testing

@testable import StorageKit

/// The folder reader behind the walker, the tree remover and the `/proc` scan: every entry but `.` and `..`,
/// names as raw bytes, failures as `Errno` naming the folder, the descriptor closed on every path.
struct DirectoryStreamTests {
    @Test func readsEveryEntryButDotAndDotDotWithRawNames() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        try dir.file("a.mp4", size: 1)
        try FileManager.default.createDirectory(atPath: dir.path + "/sub", withIntermediateDirectories: false)
        // A name that is not UTF-8 comes back byte for byte.
        let latin1: [UInt8] = Array((dir.path + "/caf").utf8) + [0xE9, 0]
        let fd = latin1.withUnsafeBufferPointer {
            $0.withMemoryRebound(to: CChar.self) { open($0.baseAddress!, O_CREAT | O_WRONLY, 0o644) }
        }
        #expect(fd >= 0)
        close(fd)

        let stream = try DirectoryStream(opening: dir.path)
        var names: Set<[UInt8]> = []
        while let entry = try stream.next() {
            names.insert(
                Array(UnsafeBufferPointer(start: entry.name, count: strlen(entry.name))).map { UInt8(bitPattern: $0) }
            )
        }
        #expect(names == [Array("a.mp4".utf8), Array("sub".utf8), [0x63, 0x61, 0x66, 0xE9]])
    }

    @Test func aMissingFolderIsNoSuchFileAndAFileIsNotAFolder() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        #expect(throws: Errno.noSuchFileOrDirectory) { _ = try DirectoryStream(opening: dir.path + "/gone") }
        let file = try dir.file("f", size: 1)
        #expect(throws: Errno.notDirectory) { _ = try DirectoryStream(opening: file) }
    }

    /// `fdopendir` on a descriptor that is not a folder fails with a message naming the path, and the descriptor
    /// it was given is closed all the same.
    @Test func aFailedFdopendirClosesTheDescriptorItTook() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let file = try dir.file("f", size: 1)
        let fd = open(file, O_RDONLY | O_CLOEXEC)
        #expect(fd >= 0)
        do {
            _ = try DirectoryStream(taking: fd, path: file)
            Issue.record("a file was read as a folder")
        } catch {
            #expect(error.errno == ENOTDIR)
            #expect(error.message.contains(file))
        }
        #expect(!Self.isOpen(fd, on: file))
    }

    /// The stream keeps its folder open while it lives, and closes it when it goes.
    @Test func theFolderIsClosedWithTheStream() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let fd = open(dir.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        #expect(fd >= 0)
        do {
            let stream = try DirectoryStream(taking: fd, path: dir.path)
            #expect(stream.descriptor == fd)
            #expect(try stream.next() == nil)
            #expect(Self.isOpen(fd, on: dir.path))
        }
        #expect(!Self.isOpen(fd, on: dir.path))
    }

    /// Whether `fd` is open on `path`'s file (a number closed here may be reused by another test at once).
    private static func isOpen(_ fd: Int32, on path: String) -> Bool {
        var open = stat()
        var named = stat()
        guard fstat(fd, &open) == 0, stat(path, &named) == 0 else { return false }
        return open.st_ino == named.st_ino && open.st_dev == named.st_dev
    }
}
