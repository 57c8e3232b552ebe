import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Issue 11: the daemon's services stop in reverse order on SIGTERM. The pipeline's drain waits for the file in
/// flight (told when it ends, not by polling), a second signal cuts it short, and in both cases the process
/// exits 0 by returning from its services — nothing calls `exit()` — and the file is stored exactly once.
/// `INGESTD_DEBUG_INGEST_DELAY_MS` (debug builds) holds each ingest so that a stop finds one in flight.
@Suite(.timeLimit(.minutes(4)))
struct ShutdownEndToEndTests {
    private func waitForAnIngestInFlight(_ h: DaemonHarness) async throws {
        var last = ""
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            // `ingest` counts settling files too: one past settling is in a worker's hands.
            if let health = try? h.request("GET", "/health") {
                last = health.text
                let queues = (try? health.object())?["queues"] as? [String: Any]
                if queues?["ingest"] as? Int == 1 && queues?["settling"] as? Int == 0 { return }
            }
            try await Task.sleep(for: .milliseconds(25))
        }
        Issue.record("no ingest in flight; last /health: \(last)\nlog:\n\(h.log)")
        throw DaemonHarness.Failure(description: "no ingest in flight")
    }

    @Test func theDrainWaitsForTheFileInFlight() async throws {
        let h = try DaemonHarness(environment: ["INGESTD_DEBUG_INGEST_DELAY_MS": "6000"])
        defer { h.remove() }
        try await h.start()
        try h.drop(try TestClips.mp4, as: "s/a.mp4")
        try await waitForAnIngestInFlight(h)
        let start = ContinuousClock.now
        #expect(try await h.stop(signal: SIGTERM) == 0)
        #expect(ContinuousClock.now - start >= .seconds(1))
        #expect(h.files(in: "storage/uploads/project_s").count == 1)
        #expect(h.files(in: "drop").isEmpty)
        #expect(h.log.contains("stopping: no new files are taken"))
        #expect(h.log.contains("control socket closed"))
        #expect(h.log.contains("stopped"))
        #expect(!h.log.contains("second stop signal"))
    }

    @Test func aSecondSignalCutsTheDrainShort() async throws {
        let h = try DaemonHarness(environment: ["INGESTD_DEBUG_INGEST_DELAY_MS": "60000"])
        defer { h.remove() }
        try await h.start()
        try h.drop(try TestClips.mp4, as: "s/a.mp4")
        try await waitForAnIngestInFlight(h)
        h.process?.signal(SIGTERM)
        try await waitUntil("the drain began") { h.log.contains("stopping: no new files are taken") }
        let start = ContinuousClock.now
        #expect(try await h.stop(signal: SIGTERM) == 0)
        #expect(ContinuousClock.now - start < .seconds(10))
        #expect(h.log.contains("second stop signal while draining"))
        #expect(h.log.contains("control socket closed"))

        // The file never moved (the ingest was held before it began): the next start takes it, once.
        h.environment["INGESTD_DEBUG_INGEST_DELAY_MS"] = "0"
        try await h.start()
        try await waitUntil("the file is stored after the restart") {
            try h.assets("s").first?["status"] as? String == "ready"
        }
        #expect(try h.assets("s").count == 1)
        #expect(h.files(in: "drop").isEmpty)
        #expect(try await h.stop() == 0)
    }
}
