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
    /// Waits until the debug build says an ingest is held (a file is in a worker's hands). The daemon says so
    /// in its log: a poll of `/health` could miss the window on a loaded machine, where the test's own tasks
    /// may not run for seconds.
    private func waitForAnIngestInFlight(_ h: DaemonHarness) async throws {
        try await waitUntil("an ingest is in flight", timeout: .seconds(60)) {
            h.log.contains("ingestd debug: an ingest is held")
        }
    }

    @Test func theDrainWaitsForTheFileInFlight() async throws {
        // Long enough for a loaded machine's /health polls to see the file in flight.
        let h = try DaemonHarness(environment: ["INGESTD_DEBUG_INGEST_DELAY_MS": "10000"])
        defer { h.remove() }
        let clip = try await TestClips.mp4  // made before the daemon starts: its making may wait behind other tests'
        try await h.start()
        try h.drop(clip, as: "s/a.mp4")
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
        let clip = try await TestClips.mp4  // made before the daemon starts: its making may wait behind other tests'
        try await h.start()
        try h.drop(clip, as: "s/a.mp4")
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
            try await h.assets("s").first?["status"] as? String == "ready"
        }
        #expect(try await h.assets("s").count == 1)
        #expect(h.files(in: "drop").isEmpty)
        #expect(try await h.stop() == 0)
    }

    /// Review: a client that stops reading a large download must not hold the stop: the process exits 0 within
    /// seconds (after a second signal at the latest) instead of waiting for systemd's SIGKILL.
    @Test func aStalledDownloadCannotHoldTheStopPastASecondSignal() async throws {
        let h = try DaemonHarness()
        defer { h.remove() }
        try await h.start()
        var clip = try Data(contentsOf: URL(fileURLWithPath: try await TestClips.mp4))
        let padding = 32 << 20
        withUnsafeBytes(of: UInt32(padding + 8).bigEndian) { clip.append(contentsOf: $0) }
        clip.append(Data("free".utf8))
        clip.append(Data(count: padding))
        try h.drop(bytes: [UInt8](clip), as: "big/a.mp4")
        try await waitUntil("the file is stored") { try await h.assets("big").first?["status"] as? String == "ready" }
        let id = try #require(try await h.assets("big").first?["id"] as? String)

        let reader = try RawClient(path: h.socket)
        try reader.send(
            Array("GET /projects/big/videos/\(id)/content HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8)
        )
        try await Task.sleep(for: .milliseconds(300))  // the server fills the socket's buffers and waits
        let start = ContinuousClock.now
        let process = try #require(h.process)
        process.signal(SIGTERM)
        if (try? await process.wait(timeout: .seconds(3))) == nil {
            process.signal(SIGTERM)  // the stop is held: a second signal must end it within seconds
        }
        let status = try? await h.stop(signal: 0, timeout: .seconds(20))
        #expect(
            status == 0,
            "log:\n\(h.log.split(separator: "\n").filter { !$0.contains("sl-service") }.suffix(15).joined(separator: "\n"))"
        )
        #expect(ContinuousClock.now - start < .seconds(10))
        withExtendedLifetime(reader) {}
    }
}
