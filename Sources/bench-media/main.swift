// bench-media: timings of in-process probing and thumbnails against the FFmpeg command-line tools, and a
// leak check. Run by bench/thumbnail-bench.sh on a release build; not part of the test suite.
//
//   bench-media time FILE [RUNS]   median ms: in-process probe, in-process thumbnail, ffprobe CLI, ffmpeg CLI
//   bench-media leak FILE [COUNT]  renders COUNT thumbnails, prints VmRSS after 100 and after COUNT
//   bench-media log FILE           renders once with FFmpeg's log routed to stdout (warnings and worse)
//   bench-media check FILE [RUNS]  median ms of the structural check (ContainerCheck) and its verdict
import Foundation
import StorageKit

func milliseconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return .nan }
    return sorted.count % 2 == 1
        ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}

func measure(_ runs: Int, _ body: () throws -> Void) rethrows -> Double {
    var samples: [Double] = []
    let clock = ContinuousClock()
    for _ in 0..<runs {
        let elapsed = try clock.measure(body)
        samples.append(milliseconds(elapsed))
    }
    return median(samples)
}

func runTool(_ tool: String, _ arguments: [String]) throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: tool)
    process.arguments = arguments
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw MediaError(.decodeFailed, "\(tool) exited with \(process.terminationStatus)")
    }
}

func residentKiB() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return -1 }
    for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? -1
    }
    return -1
}

let arguments = CommandLine.arguments
guard arguments.count >= 3 else {
    FileHandle.standardError.write(Data("usage: bench-media time|leak|log|check FILE [N]\n".utf8))
    exit(2)
}
let mode = arguments[1]
let file = arguments[2]
let count = arguments.count > 3 ? Int(arguments[3]) ?? 20 : (mode == "leak" ? 1000 : 20)
let renderer = ThumbnailRenderer(width: 320, decoderThreads: 2)

do {
    switch mode {
    case "time":
        let probe = try MediaProbe.probe(path: file)
        let duration = probe.durationSeconds ?? 0
        let seek = String(format: "%.3f", duration * 0.1)
        let output = NSTemporaryDirectory() + "bench-media-\(getpid()).jpg"
        defer { try? FileManager.default.removeItem(atPath: output) }
        _ = try renderer.render(path: file, durationHint: duration)  // warm the page cache and code
        let probeMs = try measure(count) { _ = try MediaProbe.probe(path: file) }
        let probeName = (file as NSString).lastPathComponent
        var size = (0, 0)
        let thumbnailMs = try measure(count) {
            let thumbnail = try renderer.render(path: file, durationHint: duration)
            size = (thumbnail.width, thumbnail.height)
        }
        let ffprobeMs = try measure(count) {
            try runTool("/usr/bin/ffprobe", ["-v", "error", "-show_format", "-show_streams", file])
        }
        let ffmpegMs = try measure(count) {
            try runTool(
                "/usr/bin/ffmpeg",
                [
                    "-nostdin", "-y", "-v", "error", "-ss", seek, "-i", file,
                    "-frames:v", "1", "-vf", "scale=320:-1", output,
                ]
            )
        }
        print("== \(probeName)")
        print(String(format: "in-process probe      %8.2f ms (median of %d)", probeMs, count))
        print(
            String(format: "in-process thumbnail  %8.2f ms (median of %d, %dx%d)", thumbnailMs, count, size.0, size.1)
        )
        print(String(format: "ffprobe CLI           %8.2f ms", ffprobeMs))
        print(String(format: "ffmpeg CLI thumbnail  %8.2f ms (-ss %@)", ffmpegMs, seek))
        print(String(format: "thumbnail / CLI       %8.3f (target <= 0.200)", thumbnailMs / ffmpegMs))
    case "leak":
        var after100 = 0
        for index in 1...count {
            _ = try renderer.render(path: file)
            _ = try MediaProbe.probe(path: file)
            if index == min(100, count) { after100 = residentKiB() }
        }
        let atEnd = residentKiB()
        print("VmRSS after \(min(100, count)) renders+probes:   \(after100) KiB")
        print("VmRSS after \(count) renders+probes: \(atEnd) KiB (growth \(atEnd - after100) KiB, target < 16384)")
    case "check":
        let fd = open(file, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw MediaError(.notMedia, "cannot open \(file)") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw MediaError(.notMedia, "cannot stat \(file)") }
        let ext = (file as NSString).pathExtension
        var verdict = ContainerCheck.check(fd: fd, size: Int64(info.st_size), ext: ext)
        let checkMs = measure(count) { verdict = ContainerCheck.check(fd: fd, size: Int64(info.st_size), ext: ext) }
        print(
            String(
                format: "structural check      %8.3f ms (median of %d, %.2f GiB .%@): %@",
                checkMs,
                count,
                Double(info.st_size) / 1_073_741_824,
                ext,
                "\(verdict)"
            )
        )
    case "log":
        FFmpegLog.route { level, message in print("ffmpeg[\(level)] \(message)") }
        let thumbnail = try renderer.render(path: file)
        print("rendered \(thumbnail.width)x\(thumbnail.height), \(thumbnail.jpeg.count) bytes")
    default:
        FileHandle.standardError.write(Data("unknown mode \(mode)\n".utf8))
        exit(2)
    }
} catch {
    FileHandle.standardError.write(Data("bench-media: \(error)\n".utf8))
    exit(1)
}
