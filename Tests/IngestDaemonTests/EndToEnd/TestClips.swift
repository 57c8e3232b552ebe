import Foundation
import TestSupport

/// Real clips for the end-to-end tests, made once per test run with the ffmpeg CLI (installed by
/// scripts/install-deps.sh) and shared read-only.
enum TestClips {
    struct Failure: Error, CustomStringConvertible { var description: String }

    static let directory: String = {
        let dir = NSTemporaryDirectory() + "ingestd-e2e-clips-\(getpid())"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }()

    /// Each clip is made once, by the first test that asks; the others wait for it without holding a thread.
    private static let making = Making()

    /// 1 s 320×180 h264 + AAC in MP4.
    static var mp4: String {
        get async throws {
            try await make(
                "clip.mp4",
                [
                    "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25:duration=1", "-f", "lavfi", "-i",
                    "sine=frequency=440:sample_rate=48000:duration=1", "-c:v", "libx264", "-preset", "ultrafast",
                    "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest",
                ]
            )
        }
    }

    /// 1 s 1280×720 h264 in MOV.
    static var mov: String {
        get async throws {
            try await make(
                "clip.mov",
                [
                    "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=25:duration=1", "-c:v", "libx264", "-preset",
                    "ultrafast", "-pix_fmt", "yuv420p",
                ]
            )
        }
    }

    /// 1 s 1280×720 h264 + AAC in MOV.
    static var movWithAudio: String {
        get async throws {
            try await make(
                "clip-audio.mov",
                [
                    "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=25:duration=1", "-f", "lavfi", "-i",
                    "sine=frequency=440:sample_rate=48000:duration=1", "-c:v", "libx264", "-preset", "ultrafast",
                    "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest",
                ]
            )
        }
    }

    /// 12 s 640×360 h264 + AAC in MP4: long enough to stop the daemon in the middle of its rendition.
    static var long360p: String {
        get async throws {
            try await make(
                "long-360p.mp4",
                [
                    "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25:duration=12", "-f", "lavfi", "-i",
                    "sine=frequency=440:sample_rate=48000:duration=12", "-c:v", "libx264", "-preset", "ultrafast",
                    "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest",
                ]
            )
        }
    }

    /// 1 s 320×180 h264 whose display matrix turns it 90° clockwise (a phone's portrait clip).
    static var rotatedMP4: String {
        get async throws {
            let plain = try await make(
                "plain-rot.mp4",
                [
                    "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25:duration=1", "-c:v", "libx264", "-preset",
                    "ultrafast", "-pix_fmt", "yuv420p",
                ]
            )
            return try await make("rotated.mp4", ["-i", plain, "-c", "copy", "-metadata:s:v:0", "rotate=270"])
        }
    }

    /// 1 s 320×180 10-bit HEVC in a QuickTime file whose display matrix turns it 90° (a phone's portrait clip).
    static var rotatedHEVC: String {
        get async throws {
            let plain = try await make(
                "plain-hevc.mov",
                [
                    "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25:duration=1", "-c:v", "libx265", "-preset",
                    "ultrafast", "-x265-params", "log-level=none", "-pix_fmt", "yuv420p10le", "-tag:v", "hvc1",
                ]
            )
            return try await make("rotated-hevc.mov", ["-i", plain, "-c", "copy", "-metadata:s:v:0", "rotate=90"])
        }
    }

    /// 1 s 320×240 MJPEG in AVI.
    static var avi: String {
        get async throws {
            try await make(
                "clip.avi",
                [
                    "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25:duration=1", "-c:v", "mjpeg", "-pix_fmt",
                    "yuvj420p", "-q:v", "5",
                ]
            )
        }
    }

    /// 2 s 320×180 h264 in MP4 with the index first (`+faststart`), one keyframe.
    static var faststartMP4: String {
        get async throws {
            try await make(
                "faststart.mp4",
                [
                    "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25:duration=2", "-c:v", "libx264", "-preset",
                    "ultrafast", "-pix_fmt", "yuv420p", "-movflags", "+faststart",
                ]
            )
        }
    }

    /// AAC only, in MP4.
    static var audioOnly: String {
        get async throws {
            try await make(
                "audio.mp4",
                ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=1", "-c:a", "aac"]
            )
        }
    }

    private static func make(_ name: String, _ arguments: [String]) async throws -> String {
        try await making.clip(name) {
            let path = directory + "/" + name
            if FileManager.default.fileExists(atPath: path) { return path }
            let temporary = path + ".tmp." + (name as NSString).pathExtension
            let run = try await Program.run(
                "/usr/bin/ffmpeg",
                ["-nostdin", "-y", "-loglevel", "error"] + arguments + [temporary]
            )
            guard run.status == 0 else {
                throw Failure(description: "ffmpeg could not make \(name): \(run.stderrText)")
            }
            try FileManager.default.moveItem(atPath: temporary, toPath: path)
            return path
        }
    }

    /// The clips made or being made, by name.
    private actor Making {
        private var clips: [String: Task<String, any Error>] = [:]

        func clip(_ name: String, _ make: @escaping @Sendable () async throws -> String) async throws -> String {
            if let made = clips[name] { return try await made.value }
            let task = Task { try await make() }
            clips[name] = task
            return try await task.value
        }
    }

    /// `count` distinct valid MP4s: the clip plus a trailing `free` box holding a serial number, so every file
    /// has its own SHA-256 while its boxes still tile it exactly.
    static func distinctMP4s(_ count: Int, into folder: String) async throws -> [String] {
        let base = try Data(contentsOf: URL(fileURLWithPath: try await mp4))
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        return try (0..<count).map { i in
            var data = base
            var box = Data([0, 0, 0, 16]) + Data("free".utf8)
            withUnsafeBytes(of: UInt64(i).bigEndian) { box.append(contentsOf: $0) }
            data.append(box)
            let path = folder + "/clip-\(i).mp4"
            try data.write(to: URL(fileURLWithPath: path))
            return path
        }
    }
}
