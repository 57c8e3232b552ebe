import Foundation
import IngestConfig
import TestSupport
import Testing

@testable import StorageKit

#if canImport(Glibc)
import Glibc
#endif

/// Mutated clips in every container family the container check knows (ISO-BMFF, Matroska and WebM, MPEG-TS,
/// MPEG-PS, FLV, ASF) go the whole way a stored file goes: the container check, the probe, the thumbnail, the
/// rendition plan and encoder (MP4 and WebM in turn) and the sprite sheet. None may crash the process or run
/// past its time limit, whatever numbers the file holds (timestamps, sizes, frame rates); each step ends with
/// a result or a reason. `MediaFuzzTests` covers the first three steps on MP4, MOV and AVI seeds.
///
/// The short run is part of the suite; `INGESTD_FUZZ_CASES=N` runs a longer one (`INGESTD_FUZZ_SEED=N` repeats
/// a run; the seed is printed).
@Suite(.timeLimit(.minutes(10)))
struct DerivedMediaFuzzTests {
    @Test func mutatedClipsOfEveryContainerNeverCrashTheDerivedSteps() async throws {
        let cases = ProcessInfo.processInfo.environment["INGESTD_FUZZ_CASES"].flatMap(Int.init) ?? 60
        let seed =
            ProcessInfo.processInfo.environment["INGESTD_FUZZ_SEED"].flatMap(UInt64.init)
            ?? UInt64.random(in: 0...UInt64(UInt32.max))
        print("derived media fuzz: seed \(seed), \(cases) cases (INGESTD_FUZZ_SEED=\(seed) repeats it)")
        let clips = try ClipFactory()
        defer { clips.remove() }
        let seeds = try await Self.seeds(clips).map {
            (path: $0, bytes: [UInt8](try Data(contentsOf: URL(fileURLWithPath: $0))))
        }
        var rng = SeededRandom(state: seed)
        var outcomes: [String: Int] = [:]
        for index in 0..<cases {
            let original = seeds[index % seeds.count]
            let ext = StoredName.lowercasedExtension(Array(FileOps.lastComponent(original.path).utf8))
            let mutated = MediaFuzzTests.mutate(original.bytes, &rng)
            let path = clips.path("case-\(index).\(ext)")
            try Data(mutated).write(to: URL(fileURLWithPath: path))
            defer { unlink(path) }
            let start = ContinuousClock.now
            let outcome = Self.run(path: path, ext: ext, size: mutated.count, index: index, output: clips.path("out"))
            outcomes[outcome, default: 0] += 1
            #expect(ContinuousClock.now - start < .seconds(40), "case \(index) ran past its time limits; seed \(seed)")
        }
        print("derived media fuzz outcomes: \(outcomes.sorted { $0.key < $1.key })")
        #expect(outcomes.values.reduce(0, +) == cases)
    }

    /// One clip a family: small, with audio where the container carries it, B-frames in the H.264 one.
    static func seeds(_ clips: ClipFactory) async throws -> [String] {
        let video = "testsrc2=size=64x48:rate=25:duration=1"
        let audio = "sine=frequency=440:sample_rate=48000:duration=1"
        return [
            try await clips.make(
                "a.mp4",
                video: video,
                audio: audio,
                options: ["-c:v", "libx264", "-preset", "fast", "-bf", "2", "-c:a", "aac", "-shortest"]
            ),
            try await clips.make(
                "b.mkv",
                video: video,
                audio: audio,
                options: ["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "libopus", "-shortest"]
            ),
            try await clips.make(
                "c.webm",
                video: video,
                options: ["-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8"]
            ),
            try await clips.make(
                "d.ts",
                video: video,
                audio: audio,
                options: ["-c:v", "mpeg2video", "-c:a", "mp2", "-shortest"]
            ),
            try await clips.make("e.mpg", video: video, options: ["-c:v", "mpeg1video", "-f", "mpeg"]),
            try await clips.make("f.flv", video: video, options: ["-c:v", "flv1"]),
            try await clips.make("g.wmv", video: video, options: ["-c:v", "wmv2"]),
        ]
    }

    /// Takes one mutated file through every step, returning how it ended.
    static func run(path: String, ext: String, size: Int, index: Int, output: String) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        let verdict = ContainerCheck.check(fd: fd, size: Int64(size), ext: ext)
        close(fd)
        guard case .ok = verdict else { return "\(ext): refused by the container check" }
        let probe: ProbeResult
        do {
            probe = try MediaProbe.probe(path: path, timeLimit: .seconds(10))
        } catch {
            return "\(ext): refused by the probe: \(error.kind.rawValue)"
        }
        guard probe.hasVideo else { return "\(ext): no video" }
        let duration = probe.metadata.durationSeconds
        let format = probe.metadata.formatName
        var steps: [String] = []
        do {
            _ = try ThumbnailRenderer(width: 64, decoderThreads: 1).render(
                path: path,
                durationHint: duration,
                timeLimit: .seconds(10),
                formatName: format
            )
            steps.append("thumbnail")
        } catch {
            steps.append("thumbnail \(error.kind.rawValue)")
        }
        do {
            let container: RenditionContainer = index.isMultiple(of: 2) ? .mp4 : .webm
            let plan = try RenditionEncoder.plan(path: path, ladder: [.p240], formatName: format)
            if let step = plan.first {
                let target = "\(output)-\(index).\(container.rawValue)"
                defer { unlink(target) }
                _ = try RenditionEncoder(container: container, threads: 1).encode(
                    path: path,
                    step: step,
                    to: target,
                    timeLimit: .seconds(10),
                    formatName: format
                )
                steps.append("rendition")
            } else {
                steps.append("no rendition planned")
            }
        } catch {
            steps.append("rendition \(error.kind.rawValue)")
        }
        do {
            let sheet = try SpriteRenderer().render(
                path: path,
                interval: .auto,
                durationHint: duration,
                timeLimit: .seconds(10),
                formatName: format
            )
            steps.append(sheet == nil ? "no sprite" : "sprite")
        } catch {
            steps.append("sprite \(error.kind.rawValue)")
        }
        return "\(ext): " + steps.joined(separator: ", ")
    }
}
