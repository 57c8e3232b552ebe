import Foundation
import Synchronization
import Testing

@testable import IngestDaemon

/// `GET /health` throughput with keep-alive connections; runs only with INGESTD_CONTROL_BENCH=1
/// (see bench/control-bench.sh, which builds in release mode first).
@Suite("Control bench", .serialized)
struct ControlBenchTests {
    static let enabled = ProcessInfo.processInfo.environment["INGESTD_CONTROL_BENCH"] == "1"

    @Test(.enabled(if: enabled)) func healthThroughput() async throws {
        let env = ProcessInfo.processInfo.environment
        let connections = Int(env["BENCH_CONNECTIONS"] ?? "") ?? 32
        let seconds = Double(env["BENCH_SECONDS"] ?? "") ?? 10
        let t = try await TestServer.start()
        defer { Task { await t.stop() } }
        let total = BenchCounter()
        let failures = BenchCounter()
        let deadline = Date().addingTimeInterval(seconds)
        let started = Date()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<connections {
                group.addTask {
                    try await onThread {
                        let c = try RawClient(path: t.socket)
                        var n = 0
                        var bad = 0
                        while Date() < deadline {
                            for _ in 0..<50 {
                                if (try c.request("GET", "/health")).status != 200 { bad += 1 }
                                n += 1
                            }
                        }
                        total.add(n)
                        failures.add(bad)
                    }
                }
            }
            try await group.waitForAll()
        }
        let elapsed = Date().timeIntervalSince(started)
        let count = total.value
        let rate = Double(count) / elapsed
        print(
            "control-bench: GET /health, \(connections) keep-alive connections, \(count) requests in "
                + String(format: "%.2f", elapsed) + " s = " + String(format: "%.0f", rate) + " requests/s, "
                + "\(failures.value) non-200"
        )
        #expect(failures.value == 0)
    }
}

/// A shared counter for bench threads.
final class BenchCounter: Sendable {
    private let m = Mutex(0)
    func add(_ n: Int) { m.withLock { $0 += n } }
    var value: Int { m.withLock { $0 } }
}
