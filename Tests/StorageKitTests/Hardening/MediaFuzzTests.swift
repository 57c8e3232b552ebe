import Foundation
import TestSupport
import Testing

@testable import StorageKit

#if canImport(Glibc)
import Glibc
#endif

/// Issue 10: mutated clips (bit flips, truncations, swapped and resized boxes, absurd dimensions, aspect
/// ratios and timestamps; seeded) go through the container check, the probe and the thumbnail renderer in this
/// process: none may crash or hang past the time limit; each ends accepted, refused with a reason, or failed.
///
/// The short run is part of the suite; `INGESTD_FUZZ_CASES=5000` runs the long one (`INGESTD_FUZZ_SEED=N`
/// repeats a run; the seed is printed).
@Suite(.timeLimit(.minutes(10)))
struct MediaFuzzTests {
    @Test func mutatedClipsNeverCrashOrHang() async throws {
        let cases = ProcessInfo.processInfo.environment["INGESTD_FUZZ_CASES"].flatMap(Int.init) ?? 120
        let seed =
            ProcessInfo.processInfo.environment["INGESTD_FUZZ_SEED"].flatMap(UInt64.init)
            ?? UInt64.random(in: 0...UInt64(UInt32.max))
        print("media fuzz: seed \(seed), \(cases) cases (INGESTD_FUZZ_SEED=\(seed) repeats it)")
        let clips = try ClipFactory()
        defer { clips.remove() }
        let seedPaths = [
            try await clips.h264WithAudio("a.mp4"),
            try await clips.make(
                "b.mov",
                video: "testsrc2=size=64x48:rate=10:duration=1",
                options: ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
            ),
            try await clips.make(
                "c.avi",
                video: "testsrc=size=64x48:rate=10:duration=1",
                options: ["-c:v", "mjpeg", "-pix_fmt", "yuvj420p"]
            ),
            try await CraftedAspectRatioTests.clip(width: 16, height: 64, pasp: 1, 3, clips: clips),
        ]
        let seeds = try seedPaths.map { (path: $0, bytes: [UInt8](try Data(contentsOf: URL(fileURLWithPath: $0)))) }
        var rng = SeededRandom(state: seed)
        var outcomes: [String: Int] = [:]
        let renderer = ThumbnailRenderer(width: 64, decoderThreads: 1)
        for index in 0..<cases {
            let original = seeds[index % seeds.count]
            let ext = StoredName.lowercasedExtension(Array(FileOps.lastComponent(original.path).utf8))
            let mutated = Self.mutate(original.bytes, &rng)
            let path = clips.path("case-\(index).\(ext)")
            try Data(mutated).write(to: URL(fileURLWithPath: path))
            defer { unlink(path) }
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            let verdict = ContainerCheck.check(fd: fd, size: Int64(mutated.count), ext: ext)
            close(fd)
            guard case .ok = verdict else {
                outcomes["refused by the container check", default: 0] += 1
                continue
            }
            let probe: ProbeResult
            do {
                probe = try MediaProbe.probe(path: path)
            } catch {
                outcomes["refused by the probe: \(error.kind.rawValue)", default: 0] += 1
                continue
            }
            guard probe.hasVideo else {
                outcomes["no video", default: 0] += 1
                continue
            }
            let start = ContinuousClock.now
            do {
                _ = try renderer.render(
                    path: path,
                    durationHint: probe.metadata.durationSeconds,
                    timeLimit: .seconds(10)
                )
                outcomes["thumbnail", default: 0] += 1
            } catch {
                outcomes["thumbnail failed: \(error.kind.rawValue)", default: 0] += 1
            }
            #expect(ContinuousClock.now - start < .seconds(15), "case \(index) ran past its time limit; seed \(seed)")
        }
        print("media fuzz outcomes: \(outcomes.sorted { $0.key < $1.key })")
        #expect(outcomes.values.reduce(0, +) == cases)
    }

    /// One seeded mutation of `bytes`.
    static func mutate(_ bytes: [UInt8], _ rng: inout SeededRandom) -> [UInt8] {
        var out = bytes
        guard out.count > 16 else { return out }
        switch Int.random(in: 0..<7, using: &rng) {
        case 0:  // bit flips
            for _ in 0..<Int.random(in: 1...20, using: &rng) {
                let i = Int.random(in: 0..<out.count, using: &rng)
                out[i] ^= UInt8(1) << UInt8.random(in: 0..<8, using: &rng)
            }
        case 1:  // truncation
            out.removeLast(Int.random(in: 1..<out.count, using: &rng))
        case 2:  // a box size made absurd (0, tiny, or huge)
            if let at = Self.boxOffsets(out).randomElement(using: &rng) {
                let value: UInt32 = [0, 1, 7, 0xFFFF_FFFF, 0x7FFF_FFFF, UInt32(out.count * 2)].randomElement(
                    using: &rng
                )!
                Self.put(value, at: at, in: &out)
            }
        case 3:  // two boxes swapped
            let boxes = Self.boxOffsets(out)
            if boxes.count >= 2 {
                let a = boxes.randomElement(using: &rng)!
                let b = boxes.randomElement(using: &rng)!
                for k in 4..<8 { out.swapAt(a + k, b + k) }
            }
        case 4:  // absurd numbers after a known field (dimensions, pasp, timescale, durations)
            for tag in ["tkhd", "pasp", "mdhd", "mvhd", "avcC", "stts", "elst", "avih", "strh"] {
                guard let at = Self.find(tag, in: out), Bool.random(using: &rng) else { continue }
                for _ in 0..<3 {
                    let offset = at + 4 + 4 * Int.random(in: 0..<8, using: &rng)
                    guard offset + 4 <= out.count else { continue }
                    let value: UInt32 = [0, 1, 0x7FFF, 0x8000_0000, 0xFFFF_FFFF, 32767, 65535].randomElement(
                        using: &rng
                    )!
                    Self.put(value, at: offset, in: &out)
                }
            }
        case 5:  // a run of random bytes
            let start = Int.random(in: 0..<out.count, using: &rng)
            for i in start..<min(out.count, start + Int.random(in: 1...512, using: &rng)) {
                out[i] = UInt8.random(in: 0...255, using: &rng)
            }
        default:  // a chunk repeated (boxes claimed twice)
            let start = Int.random(in: 0..<out.count, using: &rng)
            let chunk = out[start..<min(out.count, start + Int.random(in: 8...2048, using: &rng))]
            out.insert(contentsOf: chunk, at: Int.random(in: 0..<out.count, using: &rng))
        }
        return out
    }

    /// Offsets of the size fields of plausible ISO-BMFF/RIFF boxes (a 4-letter tag after 4 bytes).
    static func boxOffsets(_ bytes: [UInt8]) -> [Int] {
        var out: [Int] = []
        var i = 0
        while i + 8 <= bytes.count, out.count < 200 {
            let tag = bytes[(i + 4)..<(i + 8)]
            if tag.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x20 }) {
                out.append(i)
            }
            i += 1
        }
        return out
    }

    static func find(_ tag: String, in bytes: [UInt8]) -> Int? {
        let t = Array(tag.utf8)
        guard bytes.count >= 4 else { return nil }
        for i in 0...(bytes.count - 4) where bytes[i..<(i + 4)].elementsEqual(t) { return i }
        return nil
    }

    static func put(_ value: UInt32, at offset: Int, in bytes: inout [UInt8]) {
        guard offset >= 0, offset + 4 <= bytes.count else { return }
        withUnsafeBytes(of: value.bigEndian) { for k in 0..<4 { bytes[offset + k] = $0[k] } }
    }
}
