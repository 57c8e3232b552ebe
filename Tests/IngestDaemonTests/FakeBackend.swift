import Crypto
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import Synchronization
import Testing

@testable import IngestDaemon
@testable import StorageKit

#if canImport(Glibc)
import Glibc
#endif

/// A backend with canned answers that records what the server asked.
final class FakeBackend: ControlBackend {
    struct Upload: Sendable {
        var project: String
        var originalFilename: String
        var size: Int64
        var sha256: String
        /// SHA-256 of the staged file's bytes as found on disk.
        var fileSHA256: String
        var stagedFile: String
    }

    let stagingDirectory: String
    let maxSize: Int64
    let assets = Mutex<[String: Asset]>([:])
    let uploads = Mutex<[Upload]>([])
    let rescans = Mutex(0)
    let repairs = Mutex<[Bool]>([])
    let retries = Mutex<[String]>([])
    let eventSubscribers = Mutex<[AsyncStream<[UInt8]>.Continuation]>([])
    let terminatedSubscriptions = Mutex(0)
    let uploadRejection = Mutex<(RejectionReason, String)?>(nil)

    init(stagingDirectory: String, maxSize: Int64 = 10 << 20) {
        self.stagingDirectory = stagingDirectory
        self.maxSize = maxSize
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let a = Asset(
            id: "a1",
            projectID: "demo",
            filename: "lesson-1a2b3c4d5e.mp4",
            originalFilename: "lesson.mp4",
            relativePath: "uploads/project_demo/lesson-1a2b3c4d5e.mp4",
            checksum: String(repeating: "a", count: 64),
            sizeBytes: 10,
            mimeType: "video/mp4",
            status: .ready,
            createdAt: now,
            updatedAt: now
        )
        var b = a
        b.id = "a2"
        assets.withLock { $0 = ["a1": a, "a2": b] }
    }

    struct Health: Encodable, Sendable {
        var status = "ok"
        var version = "test"
        var uptime_seconds = 1
        var queues = ["ingest": 0, "thumbnails": 0]
    }

    func health() async -> any Encodable & Sendable { Health() }

    /// Where the delivery routes find the files the fake records name (beside the staging folder).
    var storageRoot: String { (stagingDirectory as NSString).deletingLastPathComponent + "/storage" }

    func projects() async throws -> [ProjectSummary] {
        [
            ProjectSummary(projectID: "demo", assets: 2, bytes: 20, rejected: 1),
            ProjectSummary(projectID: "only-rejected", assets: 0, bytes: 0, rejected: 3),
        ]
    }

    func deliverable(project: ProjectID, id: String, item: AssetFileItem) async throws -> Deliverable {
        guard let asset = try await asset(project: project, id: id) else {
            throw ControlAPIError.notFound("no asset \(id) in project \(project)")
        }
        return try Deliverable.resolve(asset: asset, item: item, root: storageRoot)
    }

    func storageStats(project: ProjectID?) async throws -> any Encodable & Sendable {
        if project?.rawValue == "missing" { throw StorageError(code: .notFound, message: "no project missing") }
        if project?.rawValue == "boom" { throw StorageError(code: .io, message: "disk on fire") }
        var body: [String: String] = ["root": "/srv/storage"]
        if let project { body["project_id"] = project.rawValue }
        return body
    }

    func listAssets(project: ProjectID, limit: Int?, after: String?) async throws -> [Asset] {
        let all = assets.withLock { $0.values.filter { $0.projectID == project.rawValue }.sorted { $0.id < $1.id } }
        let rest = after.map { a in all.filter { $0.id > a } } ?? all
        return Array(rest.prefix(limit ?? Int.max))
    }

    func asset(project: ProjectID, id: String) async throws -> Asset? {
        assets.withLock { $0[id] }.flatMap { $0.projectID == project.rawValue ? $0 : nil }
    }

    func deleteAsset(project: ProjectID, id: String) async throws -> Bool {
        assets.withLock { $0.removeValue(forKey: id) } != nil
    }

    func purgeProject(_ project: ProjectID) async throws -> any Encodable & Sendable {
        ["project_id": project.rawValue, "files_removed": "3", "bytes_freed": "30"]
    }

    func rescan() async { rescans.withLock { $0 += 1 } }

    func repair(dryRun: Bool) async throws -> any Encodable & Sendable {
        repairs.withLock { $0.append(dryRun) }
        return ["dry_run": dryRun]
    }

    func rejected(project: ProjectID) async throws -> any Encodable & Sendable {
        [["name": "bad file.txt", "reason": "extension_not_allowed", "detail": "no"]]
    }

    func retryRejected(project: ProjectID, name: String) async throws -> Bool {
        retries.withLock { $0.append(name) }
        return name == "bad file.txt"
    }

    func events(since: Int64?) async throws -> AsyncStream<[UInt8]> {
        let (stream, continuation) = AsyncStream<[UInt8]>.makeStream(bufferingPolicy: .bufferingNewest(1000))
        continuation.onTermination = { [weak self] _ in self?.terminatedSubscriptions.withLock { $0 += 1 } }
        if let since { continuation.yield(Array("{\"id\":\(since + 1),\"type\":\"replayed\"}\n".utf8)) }
        eventSubscribers.withLock { $0.append(continuation) }
        return stream
    }

    /// Yields `line` to every subscriber; returns how many were still there.
    @discardableResult
    func emit(_ line: String) -> Int {
        let bytes = Array(line.utf8)
        return eventSubscribers.withLock { subs in
            subs.filter {
                if case .terminated = $0.yield(bytes) { return false }
                return true
            }.count
        }
    }

    func endEvents() {
        eventSubscribers.withLock { subs in
            for subscriber in subs { subscriber.finish() }
            subs = []
        }
    }

    func metrics() async -> String { "# TYPE ingestd_files_ingested_total counter\ningestd_files_ingested_total 0\n" }

    var uploadLimits: UploadLimits {
        get async {
            UploadLimits(
                maxSize: maxSize,
                allowedExtensions: ["mp4", "MOV", ".avi"],
                stagingDirectory: stagingDirectory
            )
        }
    }

    func ingestUpload(
        project: ProjectID,
        originalFilename: String,
        stagedFile: String,
        size: Int64,
        sha256: String
    ) async throws -> UploadOutcome {
        // Hash the staged file as it is on disk, in 1 MiB reads.
        var hasher = SHA256()
        let fd = open(stagedFile, O_RDONLY)
        guard fd >= 0 else { throw TestError("cannot open staged file \(stagedFile)") }
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            chunk.withUnsafeBytes { hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        }
        close(fd)
        let fileSHA = hasher.finalize().map { String(format: "%02x", $0) }.joined()
        uploads.withLock {
            $0.append(
                Upload(
                    project: project.rawValue,
                    originalFilename: originalFilename,
                    size: size,
                    sha256: sha256,
                    fileSHA256: fileSHA,
                    stagedFile: stagedFile
                )
            )
        }
        if let (reason, detail) = uploadRejection.withLock({ $0 }) {
            return .rejected(Rejection(reason: reason, detail: detail))
        }
        let now = Date()
        let asset = Asset(
            id: "up\(size)",
            projectID: project.rawValue,
            filename: originalFilename,
            originalFilename: originalFilename,
            relativePath: "uploads/project_\(project)/\(originalFilename)",
            checksum: sha256,
            sizeBytes: size,
            mimeType: "video/mp4",
            status: .processing,
            createdAt: now,
            updatedAt: now
        )
        return .stored(asset)
    }
}
