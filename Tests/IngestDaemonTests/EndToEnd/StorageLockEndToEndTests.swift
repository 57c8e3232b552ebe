import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// One daemon per SQLite storage and one per `NODE_ID` on a shared one: a second start is refused with a
/// message naming what is in use (exit 1); a restart after a SIGKILL is never refused; a node's start-up leaves
/// another running node's files in flight alone.
@Suite(.timeLimit(.minutes(3)))
struct StorageLockEndToEndTests {
    /// Starts `second` and expects it to be refused at once, naming `inUse`; `first` carries on.
    static func expectRefused(_ second: DaemonHarness, naming inUse: String, while first: DaemonHarness) async throws {
        try await second.start(waitForHealth: false)
        let status = try await second.stop(signal: 0, timeout: .seconds(20))
        #expect(status == 1, "log: \(second.log)")
        #expect(second.log.contains(inUse), "log: \(second.log)")
        #expect(second.log.contains("pid \(first.process?.pid ?? -1)"), "the holder is named: \(second.log)")
        #expect(try await first.request("GET", "/health").status == 200)
    }

    @Test func aSecondDaemonOnOneSQLiteStorageIsRefused() async throws {
        let first = try DaemonHarness()
        defer { first.remove() }
        try await first.start()
        let second = try DaemonHarness()
        defer { second.remove() }
        second.sharedStorage = first.storage
        try await Self.expectRefused(second, naming: "STORAGE_PATH=\(first.storage) is in use", while: first)
        #expect(try await first.stop() == 0)
    }

    @Test func aRestartAfterASIGKILLIsNotRefused() async throws {
        let h = try DaemonHarness()
        defer { h.remove() }
        try await h.start()
        try await h.stop(signal: SIGKILL)
        try await h.start()
        #expect(try await h.stop() == 0)
    }

    @Test(.enabled(if: PostgresServer.url != nil, "INGESTD_TEST_POSTGRES_URL is not set"))
    func aSecondNodeWithTheSameNodeIDIsRefused() async throws {
        let url = try PostgresServer.freshDatabase()
        let (first, second) = try PostgresEndToEndTests.twoNodes(url: url)
        defer {
            first.remove()
            second.remove()
        }
        second.environment["NODE_ID"] = "node-a"
        try await first.start()
        try await Self.expectRefused(second, naming: "NODE_ID=node-a is in use", while: first)
        #expect(try await first.stop() == 0)
    }

    /// The audit's case (b): an upload streams into node B while node A starts; it is stored all the same.
    @Test(.enabled(if: PostgresServer.url != nil, "INGESTD_TEST_POSTGRES_URL is not set"))
    func anUploadStreamingIntoOneNodeSurvivesAnotherNodesStart() async throws {
        let url = try PostgresServer.freshDatabase()
        let (a, b) = try PostgresEndToEndTests.twoNodes(url: url)
        defer {
            a.remove()
            b.remove()
        }
        try await b.start()
        let clip = try await TestClips.mp4
        let size = try FileManager.default.attributesOfItem(atPath: clip)[.size] as? Int ?? 0
        let out = b.root + "/upload.out"
        let curl = try ChildProcess(
            "/usr/bin/curl",
            [
                "-s", "-S", "--max-time", "90", "--limit-rate", "\(max(1024, size / 8))", "--unix-socket", b.socket,
                "-X", "POST", "--data-binary", "@" + clip, "-H", "Content-Type: application/octet-stream",
                "-w", "\n%{http_code}", "http://localhost/projects/demo/videos?filename=slow.mp4",
            ],
            stdout: out,
            stderr: out
        )
        defer { curl.signal(SIGKILL) }
        try await waitUntil("the upload streams into staging") {
            a.files(in: "storage/.staging").contains { $0.contains(".upload-") }
        }
        // Node A's start-up recovery runs before its socket answers.
        try await a.start()
        let status = try await curl.wait(timeout: .seconds(90))
        let answer = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
        #expect(status == 0 && answer.hasSuffix("\n201"), "curl: \(answer)")
        #expect(try await b.assets("demo").map { $0["original_filename"] as? String } == ["slow.mp4"])
        #expect(try await a.stop() == 0)
        #expect(try await b.stop() == 0)
    }
}
