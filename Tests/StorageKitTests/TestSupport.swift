import Foundation
import StorageKit

#if canImport(Glibc)
import Glibc
#endif

/// A fresh directory under /tmp for one test; `remove()` deletes it.
struct TempDir {
    let path: String

    init(_ label: String = "storagekit") throws {
        var template = Array("/tmp/\(label)-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else {
            throw StorageError.syscall("mkdtemp", path: "/tmp/\(label)-XXXXXX", errno: errno)
        }
        path = String(cString: made)
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }

    /// Writes `size` bytes at `relative`, creating parent folders.
    @discardableResult
    func file(_ relative: String, size: Int, byte: UInt8 = 0x61) throws -> String {
        let full = path + "/" + relative
        try FileManager.default.createDirectory(
            atPath: (full as NSString).deletingLastPathComponent,
            withIntermediateDirectories: true
        )
        guard FileManager.default.createFile(atPath: full, contents: Data(repeating: byte, count: size)) else {
            throw StorageError.syscall("create", path: full, errno: errno)
        }
        return full
    }

    func folder(_ relative: String) throws {
        try FileManager.default.createDirectory(atPath: path + "/" + relative, withIntermediateDirectories: true)
    }

    /// A symlink at `relative` pointing at `target` (used verbatim).
    func symlink(_ relative: String, to target: String) throws {
        try FileManager.default.createSymbolicLink(atPath: path + "/" + relative, withDestinationPath: target)
    }

    func fifo(_ relative: String) throws {
        let full = path + "/" + relative
        guard mkfifo(full, 0o644) == 0 else { throw StorageError.syscall("mkfifo", path: full, errno: errno) }
    }

    func exists(_ relative: String) -> Bool {
        var info = stat()
        return lstat(path + "/" + relative, &info) == 0
    }
}

/// Builds assets with unique ids and paths; times are whole milliseconds.
enum Fixture {
    static let baseMillis: Int64 = 1_764_000_000_123

    static func asset(
        project: String = "demo",
        id: String = UUID().uuidString.lowercased(),
        createdMillis: Int64 = baseMillis,
        checksum: String? = nil,
        size: Int64 = 1_048_576,
        status: AssetStatus = .ready,
        metadata: MediaMetadata? = nil,
        thumbnailPath: String? = nil,
        error: String? = nil
    ) -> Asset {
        Asset(
            id: id,
            projectID: project,
            filename: "lesson-\(id.prefix(10)).mp4",
            originalFilename: "lesson.mp4",
            relativePath: "uploads/project_\(project)/lesson-\(id).mp4",
            checksum: checksum ?? String(repeating: "ab", count: 32),
            sizeBytes: size,
            mimeType: "video/mp4",
            status: status,
            thumbnailPath: thumbnailPath,
            metadata: metadata,
            error: error,
            createdAt: ISO8601Millis.date(milliseconds: createdMillis),
            updatedAt: ISO8601Millis.date(milliseconds: createdMillis + 1_333)
        )
    }

    static let fullMetadata = MediaMetadata(
        durationSeconds: 12.5,
        formatName: "mov,mp4,m4a,3gp,3g2,mj2",
        bitRate: 1_200_000,
        width: 1280,
        height: 720,
        rotation: 90,
        videoCodec: "h264",
        frameRate: 29.97002997002997,
        audioCodec: "aac",
        sampleRate: 48_000,
        channels: 2
    )

    static let demo = ProjectID(exactly: "demo")!
    static let other = ProjectID(exactly: "other")!
}

/// `true` when `body` throws a `StorageError` with `code`; the error is handed to `check`.
func throwsStorageError(
    _ code: StorageError.Code,
    _ body: () throws -> Void,
    check: (StorageError) -> Bool = { _ in true }
) -> Bool {
    do {
        try body()
        return false
    } catch let error as StorageError {
        return error.code == code && check(error)
    } catch {
        return false
    }
}
