import Foundation
import Testing

@testable import StorageKit

#if canImport(Glibc)
import Glibc
#endif

struct StreamingHasherTests {
    static let mib = 1 << 20

    static func withOpenFile<R>(_ path: String, _ body: (Int32) throws -> R) throws -> R {
        let fd = try FileOps.openForReading(path)
        defer { close(fd) }
        return try body(fd)
    }

    @Test(arguments: [0, 1, 4 * mib - 1, 4 * mib, 4 * mib + 1, 9 * mib])
    func equalsSha256sum(size: Int) async throws {
        let dir = try TempDir("hasher")
        defer { dir.remove() }
        let path = try writeFile(dir.path + "/f.bin", patternBytes(size))
        let digest = try Self.withOpenFile(path) { try StreamingHasher().hash(fd: $0) }
        #expect(digest.hex == (try await Checksums.sha256(file: path)))
        #expect(digest.bytes == Int64(size))
        #expect(digest.hex.count == 64)
    }

    @Test func theEmptyDigestIsTheKnownOne() throws {
        let dir = try TempDir("hasher")
        defer { dir.remove() }
        let path = try writeFile(dir.path + "/e", [])
        let digest = try Self.withOpenFile(path) { try StreamingHasher().hash(fd: $0) }
        #expect(digest.hex == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    @Test(arguments: [1, 7, 4096, 65_537])
    func anyBufferSizeGivesTheSameDigest(bufferSize: Int) async throws {
        let dir = try TempDir("hasher")
        defer { dir.remove() }
        let path = try writeFile(dir.path + "/f.bin", patternBytes(200_003, seed: 42))
        let digest = try Self.withOpenFile(path) { try StreamingHasher(bufferSize: bufferSize).hash(fd: $0) }
        #expect(digest.hex == (try await Checksums.sha256(file: path)))
        #expect(digest.bytes == 200_003)
    }

    @Test func oneHasherIsReusable() async throws {
        let dir = try TempDir("hasher")
        defer { dir.remove() }
        let a = try writeFile(dir.path + "/a", patternBytes(5 * Self.mib, seed: 1))
        let b = try writeFile(dir.path + "/b", patternBytes(3, seed: 2))
        let hasher = StreamingHasher()
        let da = try Self.withOpenFile(a) { try hasher.hash(fd: $0) }
        let db = try Self.withOpenFile(b) { try hasher.hash(fd: $0) }
        #expect(da.hex == (try await Checksums.sha256(file: a)))
        #expect(db.hex == (try await Checksums.sha256(file: b)))
    }

    @Test func hashingStartsAtTheCurrentOffset() async throws {
        let dir = try TempDir("hasher")
        defer { dir.remove() }
        let bytes = patternBytes(10_000, seed: 3)
        let path = try writeFile(dir.path + "/f", bytes)
        let tail = try writeFile(dir.path + "/tail", Array(bytes[1000...]))
        let digest = try Self.withOpenFile(path) { fd in
            _ = lseek(fd, 1000, SEEK_SET)
            return try StreamingHasher().hash(fd: fd)
        }
        #expect(digest.hex == (try await Checksums.sha256(file: tail)))
        #expect(digest.bytes == 9000)
    }

    @Test(arguments: [0, 1, 4 * mib + 1, 9 * mib])
    func copyToWritesIdenticalBytes(size: Int) async throws {
        let dir = try TempDir("hasher")
        defer { dir.remove() }
        let bytes = patternBytes(size, seed: UInt64(size) + 5)
        let path = try writeFile(dir.path + "/src", bytes)
        let out = try FileOps.createExclusive(dir.path + "/copy")
        let digest = try Self.withOpenFile(path) { try StreamingHasher().hash(fd: $0, copyTo: out) }
        close(out)
        #expect(try Checksums.bytes(dir.path + "/copy") == bytes)
        #expect(digest.hex == (try await Checksums.sha256(file: path)))
        #expect(digest.bytes == Int64(size))
    }

    @Test func aFailedReadThrows() throws {
        let dir = try TempDir("hasher")
        defer { dir.remove() }
        let fd = open(dir.path, O_RDONLY | O_DIRECTORY)
        defer { close(fd) }
        #expect(throwsStorageError(.io, { _ = try StreamingHasher().hash(fd: fd) }) { $0.errno == EISDIR })
    }
}
