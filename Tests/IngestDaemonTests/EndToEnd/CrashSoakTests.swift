import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Issue 10: files dropped in bursts (atomic renames, slow in-place writes, a few bad files) while the daemon
/// is SIGKILLed at random instants and restarted. At the end every file is exactly once `ready` with its
/// checksum, or in `rejected/` byte-identical, or still in the drop; no `processing` record, no stray staging
/// file; statistics equal the disk; `repair --dry-run` finds nothing.
///
/// The short run is part of `make test`; `INGESTD_SOAK=full` runs 500 files and 20 kills (see the README).
/// `INGESTD_SOAK_SEED=N` repeats a run; the seed is printed.
@Suite(.timeLimit(.minutes(10)), .serialized)
struct CrashSoakTests {
    struct Plan {
        var files: Int
        var kills: Int
        static var current: Plan {
            ProcessInfo.processInfo.environment["INGESTD_SOAK"] == "full"
                ? Plan(files: 500, kills: 20) : Plan(files: 40, kills: 4)
        }
    }

    @Test func nothingIsLostOrDuplicatedAcrossSIGKILLs() async throws {
        let plan = Plan.current
        let seed =
            ProcessInfo.processInfo.environment["INGESTD_SOAK_SEED"].flatMap(UInt64.init)
            ?? UInt64.random(in: 0...UInt64(UInt32.max))
        print(
            "crash soak: seed \(seed), \(plan.files) files, \(plan.kills) kills (INGESTD_SOAK_SEED=\(seed) repeats it)"
        )
        var rng = SeededRandom(state: seed)
        let h = try DaemonHarness(settleMS: 100, environment: ["SWIFT_BACKTRACE": "enable=no"])
        defer { h.remove() }
        let clips = try await TestClips.distinctMP4s(plan.files, into: h.root + "/clips")
        var expected: [String: (checksum: String, bad: Bool)] = [:]  // name in the drop → what it is
        try await h.start()

        let perBurst = max(1, plan.files / (plan.kills + 1))
        var next = 0
        var kills = 0
        while next < plan.files || kills < plan.kills {
            // A burst: most files renamed in whole, some written in place slowly, about one in twelve bad.
            let end = min(plan.files, next + perBurst)
            while next < end {
                let name = "f\(next).mp4"
                var bytes = try Data(contentsOf: URL(fileURLWithPath: clips[next]))
                let bad = Int.random(in: 0..<12, using: &rng) == 0
                if bad {
                    // Distinct for every file (a pattern alone repeats every 256 files, and two identical bad files
                    // would each count the other's copy in rejected/).
                    bytes =
                        Data("not media \(next)\n".utf8)
                        + Data((0..<4000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ next) })
                }
                expected[name] = (Self.sha256(bytes), bad)
                let target = h.drop + "/soak/" + name
                try FileManager.default.createDirectory(atPath: h.drop + "/soak", withIntermediateDirectories: true)
                if Int.random(in: 0..<4, using: &rng) == 0 {
                    try Self.writeSlowly(bytes, to: target)
                } else {
                    let tmp = h.drop + "/soak/." + name + ".tmp"
                    try bytes.write(to: URL(fileURLWithPath: tmp))
                    rename(tmp, target)
                }
                next += 1
            }
            if kills < plan.kills {
                try await Task.sleep(for: .milliseconds(Int.random(in: 50...700, using: &rng)))
                _ = try await h.stop(signal: SIGKILL)
                kills += 1
                try await h.start()
            }
        }

        // Let the last daemon finish everything: nothing left to take, every stored asset has its thumbnail.
        try await waitUntil("every file is settled", timeout: .seconds(120)) {
            let inDrop = h.files(in: "drop/soak").filter { !$0.hasPrefix(".") }
            let assets = try await h.assets("soak")
            let pending = assets.filter {
                $0["status"] as? String == "processing"
                    || ($0["status"] as? String == "ready" && $0["thumbnail_path"] is NSNull)
            }
            return inDrop.isEmpty && pending.isEmpty
                && assets.count
                    + h.files(in: "storage/rejected/project_soak").filter { !$0.hasSuffix(".reason.json") }.count
                    >= expected.count
        }

        let assets = try await h.assets("soak")
        let rejected = h.files(in: "storage/rejected/project_soak").filter { !$0.hasSuffix(".reason.json") }
        var rejectedSums: [String: Int] = [:]
        for name in rejected {
            let data = try Data(contentsOf: URL(fileURLWithPath: h.storage + "/rejected/project_soak/" + name))
            rejectedSums[Self.sha256(data), default: 0] += 1
        }
        var readySums: [String: Int] = [:]
        for a in assets where a["status"] as? String == "ready" {
            readySums[a["checksum"] as? String ?? "", default: 0] += 1
        }
        for (name, file) in expected.sorted(by: { $0.key < $1.key }) {
            let ready = readySums[file.checksum] ?? 0
            let kept = rejectedSums[file.checksum] ?? 0
            let inDrop = FileManager.default.fileExists(atPath: h.drop + "/soak/" + name) ? 1 : 0
            #expect(
                ready + kept + inDrop == 1,
                "\(name) (bad: \(file.bad)): ready \(ready), rejected \(kept), in drop \(inDrop); seed \(seed)"
            )
            if file.bad { #expect(ready == 0, "\(name) is not media; seed \(seed)") }
        }
        #expect(assets.allSatisfy { $0["status"] as? String != "processing" })
        #expect(assets.count == readySums.values.reduce(0, +), "failed assets: seed \(seed)")
        // Stored files match the records and the statistics; nothing stray in staging.
        let stored = h.files(in: "storage/uploads/project_soak")
        #expect(stored.count == assets.count)
        let stats = try await h.request("GET", "/projects/soak/storage/stats").object()
        let uploads = (stats["categories"] as? [String: Any])?["uploads"] as? [String: Any]
        #expect(uploads?["file_count"] as? Int == stored.count)
        #expect(h.files(in: "storage/.staging").isEmpty, "stray staging files: \(h.files(in: "storage/.staging"))")
        let repair = try await h.request("POST", "/repair?dry_run=1").object()
        for key in [
            "records_created", "records_removed", "records_marked_failed", "thumbnails_queued",
            "orphan_thumbnails_removed",
        ] {
            #expect(repair[key] as? Int == 0, "repair --dry-run: \(key) = \(repair[key] ?? "nil"); seed \(seed)")
        }
        #expect(try await h.stop() == 0)
    }

    /// Writes `bytes` in place in four pieces with pauses, as a slow copy over the network would.
    static func writeSlowly(_ bytes: Data, to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw DaemonHarness.Failure(description: "cannot create \(path)") }
        defer { close(fd) }
        let piece = max(1, bytes.count / 4)
        var offset = 0
        while offset < bytes.count {
            let n = min(piece, bytes.count - offset)
            _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, n) }
            offset += n
            usleep(30_000)
        }
    }

    static func sha256(_ data: Data) -> String {
        let path = NSTemporaryDirectory() + "soak-\(UUID().uuidString)"
        FileManager.default.createFile(atPath: path, contents: data)
        defer { unlink(path) }
        return (try? DaemonHarness_sha256(path)) ?? ""
    }
}

/// The harness's SHA-256 of a file (a global function there).
private func DaemonHarness_sha256(_ path: String) throws -> String { try sha256(ofFile: path) }
