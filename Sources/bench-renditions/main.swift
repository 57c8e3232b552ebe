// bench-renditions: the in-process rendition encoder and sprite renderer, timed, with the process's peak RSS.
// Run by bench/rendition-bench.sh on a release build; not part of the test suite.
//
//   bench-renditions encode FILE STEP [mp4|webm] [THREADS]   one rendition (e.g. 720p): frames, seconds, fps, peak RSS
//   bench-renditions sprite FILE [INTERVAL|auto]              one sprite sheet: tiles, seconds, peak RSS
import Foundation
import IngestConfig
import StorageKit

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

/// VmHWM from /proc/self/status, in MiB.
func peakRSSMiB() -> Double {
    guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return .nan }
    for line in text.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        let kilobytes = line.split(separator: " ").compactMap { Double($0) }.first ?? .nan
        return kilobytes / 1024
    }
    return .nan
}

let arguments = CommandLine.arguments
guard arguments.count >= 3 else {
    print("usage: bench-renditions encode FILE STEP [mp4|webm] [THREADS] | sprite FILE [INTERVAL|auto]")
    exit(2)
}
let file = arguments[2]
do {
    switch arguments[1] {
    case "encode":
        let ladder = [RenditionStep(rawValue: arguments.count > 3 ? arguments[3] : "720p") ?? .p720]
        let container = RenditionContainer(rawValue: arguments.count > 4 ? arguments[4] : "mp4") ?? .mp4
        let threads = arguments.count > 5 ? Int(arguments[5]) ?? 2 : 2
        let steps = try RenditionEncoder.plan(path: file, ladder: ladder)
        let output = NSTemporaryDirectory() + "bench-rendition-\(getpid()).\(container.fileExtension)"
        defer { unlink(output) }
        let clock = ContinuousClock()
        var result: EncodedRendition?
        let elapsed = try clock.measure {
            result = try RenditionEncoder(container: container, threads: threads).encode(
                path: file,
                step: steps[0],
                to: output
            )
        }
        let frames = result?.frames ?? 0
        print(
            String(
                format: "in-process %@ %dx%d: %d frames in %.2f s = %.1f fps, peak RSS %.0f MiB",
                steps[0].name,
                steps[0].width,
                steps[0].height,
                frames,
                seconds(elapsed),
                Double(frames) / seconds(elapsed),
                peakRSSMiB()
            )
        )
    case "sprite":
        let interval: SpriteInterval =
            arguments.count > 3 && arguments[3] != "auto"
            ? .every(Double(arguments[3]) ?? 1) : .auto
        let clock = ContinuousClock()
        var image: SpriteSheetImage?
        let elapsed = try clock.measure { image = try SpriteRenderer().render(path: file, interval: interval) }
        print(
            String(
                format: "in-process sprite: %d tiles every %.2f s in %.2f s, peak RSS %.0f MiB",
                image?.count ?? 0,
                image?.intervalSeconds ?? 0,
                seconds(elapsed),
                peakRSSMiB()
            )
        )
    default:
        print("unknown command \(arguments[1])")
        exit(2)
    }
} catch {
    print("failed: \(error)")
    exit(1)
}
