import Crypto
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
import TestSupport
#endif

/// Drives the built `ingestd` binary: drop files, poll the socket, check the disk.
@Suite(.timeLimit(.minutes(3)))
struct IngestEndToEndTests {
    @Test func droppedClipBecomesReadyWithMetadataAndThumbnail() async throws {
        let h = try DaemonHarness()
        defer { h.remove() }
        try await h.start()
        let clip = try await TestClips.mp4
        try h.drop(clip, as: "demo/lesson.mp4")

        try await waitUntil("the clip is ready with a thumbnail") {
            let a = try await h.assets("demo")
            return a.count == 1 && a[0]["thumbnail_path"] as? String != nil
        }
        let asset = try await h.assets("demo")[0]
        #expect(asset["status"] as? String == "ready")
        #expect(asset["original_filename"] as? String == "lesson.mp4")
        #expect(asset["mime_type"] as? String == "video/mp4")
        #expect(asset["checksum"] as? String == (try sha256(ofFile: clip)))
        let filename = try #require(asset["filename"] as? String)
        #expect(filename.range(of: #"^lesson-[0-9a-f]{10}\.mp4$"#, options: .regularExpression) != nil)
        #expect(asset["relative_path"] as? String == "uploads/project_demo/" + filename)
        let metadata = try #require(asset["metadata"] as? [String: Any])
        #expect(metadata["width"] as? Int == 320)
        #expect(metadata["height"] as? Int == 180)
        #expect(metadata["video_codec"] as? String == "h264")
        #expect(metadata["audio_codec"] as? String == "aac")
        #expect(metadata["rotation"] as? Int == 0)
        // The stored bytes are the dropped bytes; the drop is empty; the thumbnail exists.
        #expect(try sha256(ofFile: h.storage + "/uploads/project_demo/" + filename) == sha256(ofFile: clip))
        #expect(h.files(in: "drop").isEmpty)
        let thumb = try #require(asset["thumbnail_path"] as? String)
        #expect(FileManager.default.fileExists(atPath: h.storage + "/" + thumb))
        // One record through the single-asset route as well.
        let id = try #require(asset["id"] as? String)
        #expect(try await h.request("GET", "/projects/demo/videos/\(id)").object()["id"] as? String == id)
        #expect(try await h.request("GET", "/projects/demo/videos/nope").status == 404)
        #expect(try await h.stop() == 0)
    }

    @Test func everyRejectionKeepsTheOriginalBytesWithAReason() async throws {
        let h = try DaemonHarness()
        defer { h.remove() }
        try await h.start()
        let clip = try await TestClips.mp4
        let clipData = try Data(contentsOf: URL(fileURLWithPath: clip))
        try h.drop(bytes: Array(repeating: 0x41, count: 5000), as: "p/fake.mp4")
        try h.drop(bytes: Array("hello".utf8), as: "p/notes.txt")
        try h.drop(bytes: [], as: "p/empty.mp4")
        try h.drop(try await TestClips.audioOnly, as: "p/song.mp4")
        try h.drop(bytes: Array(clipData.prefix(clipData.count * 6 / 10)), as: "p/half.mp4")
        try h.drop(try await TestClips.avi, as: "p/disguised.mp4")
        try h.drop(clip, as: "!!!/clip.mp4")
        try FileManager.default.createDirectory(atPath: h.drop + "/p", withIntermediateDirectories: true)
        #expect(mkfifo(h.drop + "/p/pipe.mp4", 0o644) == 0)
        try FileManager.default.createSymbolicLink(atPath: h.drop + "/p/link.mp4", withDestinationPath: clip)
        try h.drop(clip, as: "p/linked.mp4")
        #expect(link(h.drop + "/p/linked.mp4", h.root + "/second-name.mp4") == 0)

        let expected: [(String, String, String)] = [
            ("p", "fake.mp4", "not_media"), ("p", "notes.txt", "extension_not_allowed"), ("p", "empty.mp4", "empty"),
            ("p", "song.mp4", "no_video"), ("p", "half.mp4", "truncated"), ("p", "disguised.mp4", "not_media"),
            ("default", "clip.mp4", "invalid_project"), ("p", "pipe.mp4", "special_file"),
            ("p", "link.mp4", "symlink"), ("p", "linked.mp4", "hard_links"),
        ]
        try await waitUntil("every file is rejected") {
            expected.allSatisfy { h.rejectionReason(project: $0.0, name: $0.1) != nil }
        }
        for (project, name, reason) in expected {
            #expect(h.rejectionReason(project: project, name: name) == reason, "\(name)")
        }
        // The detail names the file and the folder as the user named them.
        let invalid = try Data(
            contentsOf: URL(fileURLWithPath: h.storage + "/rejected/project_default/clip.mp4.reason.json")
        )
        let detail = (try JSONSerialization.jsonObject(with: invalid) as? [String: Any])?["detail"] as? String
        #expect(detail?.hasPrefix("!!!/clip.mp4: the drop folder's name \"!!!\"") == true, "\(detail ?? "")")
        #expect(h.files(in: "drop").isEmpty)
        #expect(
            try sha256(ofFile: h.storage + "/rejected/project_p/half.mp4")
                == sha256(bytes: Array(clipData.prefix(clipData.count * 6 / 10)))
        )
        #expect(try String(contentsOfFile: h.storage + "/rejected/project_p/notes.txt", encoding: .utf8) == "hello")
        var st = stat()
        #expect(lstat(h.storage + "/rejected/project_p/link.mp4", &st) == 0 && (st.st_mode & S_IFMT) == S_IFLNK)
        #expect(lstat(h.storage + "/rejected/project_p/pipe.mp4", &st) == 0 && (st.st_mode & S_IFMT) == S_IFIFO)
        #expect(try await h.request("GET", "/projects/p/videos").array().isEmpty)
        let listed = try await h.request("GET", "/projects/p/rejected").array()
        #expect(
            Set(listed.compactMap { $0["reason"] as? String }).isSuperset(of: [
                "not_media", "empty", "no_video", "truncated",
            ])
        )
        // The daemon is alive after all of it (the FIFO did not hang it).
        #expect(try await h.request("GET", "/health").status == 200)
        #expect(try await h.stop() == 0)
    }

    @Test func slowWriterIsNotTakenEarlyAndTempNamesWaitForTheRename() async throws {
        let h = try DaemonHarness(settleMS: 200, environment: ["DUPLICATES": "keep"])
        defer { h.remove() }
        try await h.start()
        let data = try Data(contentsOf: URL(fileURLWithPath: try await TestClips.mp4))
        try FileManager.default.createDirectory(atPath: h.drop + "/slow", withIntermediateDirectories: true)
        // A writer that keeps the file open and idle for longer than SETTLE_MS (as Samba does).
        let writer = try FileHandle(
            forWritingTo: {
                FileManager.default.createFile(atPath: h.drop + "/slow/big.mp4", contents: nil)
                return URL(fileURLWithPath: h.drop + "/slow/big.mp4")
            }()
        )
        writer.write(data.prefix(data.count / 2))
        // A download in progress under a temporary name, and a hidden file.
        try h.drop(bytes: [UInt8](data), as: "slow/movie.mp4.part")
        try h.drop(bytes: [UInt8](data), as: "slow/.hidden.mp4")
        try await Task.sleep(for: .milliseconds(1200))
        #expect(FileManager.default.fileExists(atPath: h.drop + "/slow/big.mp4"), "taken while a writer had it open")
        #expect(FileManager.default.fileExists(atPath: h.drop + "/slow/movie.mp4.part"))
        #expect(FileManager.default.fileExists(atPath: h.drop + "/slow/.hidden.mp4"))
        writer.write(data.suffix(from: data.count / 2))
        try writer.close()
        #expect(rename(h.drop + "/slow/movie.mp4.part", h.drop + "/slow/movie.mp4") == 0)
        try await waitUntil("both files are stored") { try await h.assets("slow").count == 2 }
        #expect(
            Set(try await h.assets("slow").compactMap { $0["original_filename"] as? String }) == [
                "big.mp4", "movie.mp4",
            ]
        )
        #expect(FileManager.default.fileExists(atPath: h.drop + "/slow/.hidden.mp4"))
        #expect(try await h.stop() == 0)
    }

    @Test func duplicatesAreRejectedOrKeptAsConfigured() async throws {
        let clip = try await TestClips.mp4
        for policy in ["reject", "keep"] {
            let h = try DaemonHarness(environment: ["DUPLICATES": policy])
            defer { h.remove() }
            try await h.start()
            try h.drop(clip, as: "dup/a.mp4")
            try await waitUntil("the first copy is stored") { try await h.assets("dup").count == 1 }
            try h.drop(clip, as: "dup/b.mp4")
            if policy == "reject" {
                try await waitUntil("the second copy is rejected") {
                    h.rejectionReason(project: "dup", name: "b.mp4") != nil
                }
                #expect(h.rejectionReason(project: "dup", name: "b.mp4") == "duplicate")
                #expect(try await h.assets("dup").count == 1)
            } else {
                try await waitUntil("both copies are stored") { try await h.assets("dup").count == 2 }
                let names = try await h.assets("dup").compactMap { $0["filename"] as? String }
                #expect(Set(names).count == 2)
            }
            #expect(try await h.stop() == 0)
        }
    }

    @Test func startupScanNestedFoldersAndTheDefaultProject() async throws {
        let h = try DaemonHarness()
        defer { h.remove() }
        try h.drop(try await TestClips.mp4, as: "proj/sub/deeper/a.mp4")
        try h.drop(try await TestClips.mov, as: "root.mov")
        try h.drop(try await TestClips.avi, as: "proj/b.AVI")
        try await h.start()
        try await waitUntil("all three are stored") {
            let proj = try await h.assets("proj").count
            let root = try await h.assets("default").count
            return proj == 2 && root == 1
        }
        let types = Set(try await h.assets("proj").compactMap { $0["mime_type"] as? String })
        #expect(types == ["video/mp4", "video/x-msvideo"])
        #expect(try await h.assets("default")[0]["mime_type"] as? String == "video/quicktime")
        let avi = try #require(try await h.assets("proj").first { $0["original_filename"] as? String == "b.AVI" })
        #expect((avi["filename"] as? String)?.hasSuffix(".avi") == true)
        // A folder created and filled before its watch exists is still scanned.
        let staging = h.root + "/prepared"
        try FileManager.default.createDirectory(atPath: staging + "/inner", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: try await TestClips.mov, toPath: staging + "/inner/c.mov")
        #expect(rename(staging, h.drop + "/late") == 0)
        try await waitUntil("the moved-in folder's file is stored") { try await h.assets("late").count == 1 }
        #expect(try await h.stop() == 0)
    }

    @Test func aFileWithAnMtimeInTheFutureIsStillTaken() async throws {
        let h = try DaemonHarness(settleMS: 200)
        defer { h.remove() }
        try await h.start()
        let staged = h.root + "/future.mp4"
        try FileManager.default.copyItem(atPath: try await TestClips.mp4, toPath: staged)
        // As `cp -p` from a camera with a wrong clock leaves it.
        var times = [timespec(tv_sec: 1_924_992_000, tv_nsec: 0), timespec(tv_sec: 1_924_992_000, tv_nsec: 0)]
        #expect(utimensat(AT_FDCWD, staged, &times, 0) == 0)
        #expect(rename(staged, h.drop + "/future.mp4") == 0)
        try await waitUntil("the file is stored") { try await h.assets("default").count == 1 }
        #expect(try await h.stop() == 0)
    }

    @Test func burstOfTwoThousandTinyFilesIsFullyAccountedFor() async throws {
        let h = try DaemonHarness(settleMS: 100)
        defer { h.remove() }
        try await h.start()
        for i in 0..<2000 {
            try h.drop(bytes: Array("not a video \(i)".utf8), as: "burst/d\(i % 7)/e\(i % 3)/f\(i).mp4")
        }
        try await waitUntil("every file is rejected", timeout: .seconds(120)) {
            h.files(in: "storage/rejected/project_burst").count == 4000
        }
        #expect(h.files(in: "drop").isEmpty)
        let stats = try await h.request("GET", "/projects/burst/storage/stats").object()
        let rejected = try #require((stats["categories"] as? [String: Any])?["rejected"] as? [String: Any])
        #expect(rejected["file_count"] as? Int == 4000)
        #expect(try await h.stop() == 0)
    }

    @Test func sigkillDuringABurstLosesNothingAndStoresNothingTwice() async throws {
        let h = try DaemonHarness(settleMS: 50)
        defer { h.remove() }
        let clips = try await TestClips.distinctMP4s(50, into: h.root + "/clips")
        try await h.start()
        for (i, clip) in clips.enumerated() {
            try FileManager.default.copyItem(atPath: clip, toPath: h.drop + "/burst-\(i).mp4.part")
            #expect(rename(h.drop + "/burst-\(i).mp4.part", h.drop + "/burst-\(i).mp4") == 0)
        }
        try await Task.sleep(for: .milliseconds(150))
        try await h.stop(signal: SIGKILL)
        try await h.start()
        try await waitUntil("every clip is stored once", timeout: .seconds(60)) {
            try await h.assets("default").count == 50 && h.files(in: "drop").isEmpty
        }
        let checksums = try await h.assets("default").compactMap { $0["checksum"] as? String }
        #expect(Set(checksums).count == 50)
        #expect(Set(checksums) == Set(try clips.map { try sha256(ofFile: $0) }))
        #expect(h.files(in: "storage/uploads/project_default").count == 50)
        #expect(h.files(in: "storage/rejected").isEmpty)
        #expect(try await h.assets("default").allSatisfy { $0["status"] as? String == "ready" })
        let stats = try await h.request("GET", "/storage/stats").object()
        let uploads = try #require((stats["categories"] as? [String: Any])?["uploads"] as? [String: Any])
        #expect(uploads["file_count"] as? Int == 50)
        #expect(try await h.stop() == 0)
    }

    @Test func badConfigurationStopsWithAMessageNamingTheKey() throws {
        let h = try DaemonHarness()
        defer { h.remove() }
        let run = try Program.runBlocking(
            DaemonHarness.ingestd,
            ["--drop", h.drop, "--storage", h.storage],
            environment: ["DUPLICATES": "maybe", "PATH": "/usr/bin:/bin"],
            timeout: .seconds(30)
        )
        let message = run.stderrText
        #expect(run.status == 78)
        #expect(message.contains("DUPLICATES=maybe"))
        #expect(message.contains("reject or keep"))
    }

    /// SPEC: any container FFmpeg reads may be allowed; an extension of none is a bad value, named at start.
    @Test func anExtensionNoContainerHasStopsTheStart() throws {
        let h = try DaemonHarness()
        defer { h.remove() }
        let run = try Program.runBlocking(
            DaemonHarness.ingestd,
            ["--drop", h.drop, "--storage", h.storage],
            environment: ["ALLOWED_EXTENSIONS": "mp4,exe,gif", "PATH": "/usr/bin:/bin"],
            timeout: .seconds(30)
        )
        #expect(run.status == 78)
        #expect(run.stderrText.contains("ALLOWED_EXTENSIONS=mp4,exe,gif"))
        #expect(run.stderrText.contains("exe is not one"))
        // The message says where the value came from, as for every other key.
        #expect(run.stderrText.contains("(from environment)"), "\(run.stderrText)")
    }
}

func sha256(bytes: [UInt8]) -> String {
    SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
}

/// Drop and storage on different filesystems: ingest copies while hashing, and rejections are still moves.
@Suite(.timeLimit(.minutes(3)))
struct CrossFilesystemEndToEndTests {
    @Test(.enabled(if: FileManager.default.isWritableFile(atPath: "/dev/shm")))
    func dropOnAnotherFilesystemIsIngestedAndRejectedWithNothingLeftBehind() async throws {
        let h = try DaemonHarness()
        defer { h.remove() }
        let drop = "/dev/shm/ingestd-e2e-drop-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: drop) }
        try FileManager.default.createDirectory(atPath: drop + "/x", withIntermediateDirectories: true)
        var st1 = stat()
        var st2 = stat()
        stat("/dev/shm", &st1)
        stat(h.root, &st2)
        try #require(st1.st_dev != st2.st_dev, "/dev/shm is not another filesystem here")
        try await h.start(extraArguments: ["--drop", drop])
        let clip = try await TestClips.mp4
        try FileManager.default.copyItem(atPath: clip, toPath: drop + "/x/clip.mp4")
        try Data(repeating: 7, count: 4000).write(to: URL(fileURLWithPath: drop + "/x/junk.mp4"))
        try FileManager.default.createSymbolicLink(atPath: drop + "/x/link.mp4", withDestinationPath: clip)
        try await waitUntil("stored and rejected") {
            try await h.assets("x").count == 1 && h.rejectionReason(project: "x", name: "junk.mp4") != nil
                && h.rejectionReason(project: "x", name: "link.mp4") != nil
        }
        #expect(try await h.assets("x")[0]["checksum"] as? String == (try sha256(ofFile: clip)))
        #expect(h.rejectionReason(project: "x", name: "junk.mp4") == "not_media")
        #expect(h.rejectionReason(project: "x", name: "link.mp4") == "symlink")
        var st = stat()
        #expect(lstat(h.storage + "/rejected/project_x/link.mp4", &st) == 0 && (st.st_mode & S_IFMT) == S_IFLNK)
        try await waitUntil("the drop is empty") {
            (try FileManager.default.contentsOfDirectory(atPath: drop + "/x")).isEmpty
        }
        #expect(h.files(in: "storage/.staging").isEmpty)
        #expect(try await h.stop() == 0)
    }
}
