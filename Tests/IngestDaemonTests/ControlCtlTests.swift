import Foundation
import Synchronization
import Testing

@testable import IngestDaemon

#if canImport(Glibc)
import Glibc
import TestSupport
#endif

/// Runs the built `ingestctl` (next to the test bundle) against a test server.
@Suite("ingestctl against a live server", .serialized, .timeLimit(.minutes(3)))
struct ControlCtlTests {
    static let binary: String? = {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? ""
        let dir = (exe as NSString).deletingLastPathComponent
        let path = dir + "/ingestctl"
        return FileManager.default.isExecutableFile(atPath: path) ? path : nil
    }()

    struct Run: Sendable {
        var code: Int32
        var out: String
        var err: String
    }

    static func ingestctl(
        _ args: [String],
        environment: [String: String] = [:],
        stdin: String? = nil
    ) async throws -> Run {
        guard let binary else { throw TestError("ingestctl is not built next to the tests") }
        let run = try await Program.run(
            binary,
            args,
            environment: ["PATH": "/usr/bin:/bin"].merging(environment) { $1 },
            input: Array((stdin ?? "").utf8),
            timeout: .seconds(50)
        )
        return Run(code: run.status, out: run.stdoutText, err: run.stderrText)
    }

    @Test(.enabled(if: binary != nil)) func commandsAndExitCodes() async throws {
        let t = try await TestServer.start()
        defer { Task { await t.stop() } }
        let s = ["--socket", t.socket]

        let health = try await Self.ingestctl(["health"] + s)
        #expect(health.code == 0 && health.out.contains("status: ok"))
        let healthJSON = try await Self.ingestctl(["health", "--json"] + s)
        #expect(healthJSON.code == 0 && healthJSON.out.hasPrefix("{") && healthJSON.out.contains("\"status\":\"ok\""))
        let list = try await Self.ingestctl(["list", "demo", "--limit", "1"] + s)
        #expect(list.code == 0 && list.out.contains("a1") && !list.out.contains("a2"))
        #expect(try await Self.ingestctl(["show", "demo", "a2"] + s).out.contains("original_filename: lesson.mp4"))
        let missing = try await Self.ingestctl(["show", "demo", "nope"] + s)
        #expect(missing.code == 1 && missing.err.contains("404 not_found"))
        #expect(try await Self.ingestctl(["delete", "demo", "a2"] + s).code == 0)
        #expect(try await Self.ingestctl(["stats"] + s).code == 0)
        #expect(try await Self.ingestctl(["stats", "missing"] + s).code == 1)
        #expect(try await Self.ingestctl(["rescan"] + s).out.contains("rescan queued"))
        #expect(try await Self.ingestctl(["repair", "--dry-run"] + s).code == 0)
        #expect(t.backend.repairs.withLock { $0 } == [true])
        #expect(try await Self.ingestctl(["rejected", "demo"] + s).out.contains("extension_not_allowed"))
        #expect(try await Self.ingestctl(["retry", "demo", "bad file.txt"] + s).code == 0)
        #expect(try await Self.ingestctl(["retry", "demo", "other.mp4"] + s).code == 1)

        // purge: refuses without --yes when stdin is not a terminal (usage error), works with it.
        #expect(try await Self.ingestctl(["purge", "demo"] + s).code == 2)
        let purge = try await Self.ingestctl(["purge", "demo", "--yes"] + s)
        #expect(purge.code == 0 && purge.out.contains("purged project demo"))

        // upload
        let file = t.dir.path + "/clip one.mp4"
        let bytes = ControlUploadTests.payload(2_000_000)
        _ = FileManager.default.createFile(atPath: file, contents: Data(bytes))
        let up = try await Self.ingestctl(["upload", file, "--project", "demo", "--json"] + s)
        #expect(up.code == 0 && up.out.contains(sha256Hex(bytes)))
        #expect(t.backend.uploads.withLock { $0.last?.originalFilename } == "clip one.mp4")
        let txt = t.dir.path + "/notes.txt"
        _ = FileManager.default.createFile(atPath: txt, contents: Data("hi".utf8))
        let refused = try await Self.ingestctl(["upload", txt, "--project", "demo"] + s)
        #expect(refused.code == 1 && refused.err.contains("415"))

        // usage errors → 2
        #expect(try await Self.ingestctl(["list"] + s).code == 2)
        #expect(try await Self.ingestctl(["list", "bad.id"] + s).code == 2)
        #expect(try await Self.ingestctl(["frobnicate"]).code == 2)
        let bare = try await Self.ingestctl([])
        #expect(bare.code == 2, "no command is a usage error")
        let optionsOnly = try await Self.ingestctl(s)
        #expect(optionsOnly.code == 2 && optionsOnly.err.contains("a command is needed"), "\(optionsOnly.err)")
        let valueMissing = try await Self.ingestctl(["--socket"])
        #expect(valueMissing.code == 2 && valueMissing.err.contains("a command is needed"), "\(valueMissing.err)")
        #expect(try await Self.ingestctl(["--help"]).code == 0)
        #expect(try await Self.ingestctl(["list", "demo", "--limit", "0"] + s).code == 2)

        // unreachable → 3, naming the socket; the default path follows CONTROL_SOCKET / STORAGE_PATH
        let gone = try await Self.ingestctl(["health", "--socket", t.dir.path + "/nope.sock"])
        #expect(
            gone.code == 3 && gone.err.contains(t.dir.path + "/nope.sock") && gone.err.contains("is ingestd running?")
        )
        // A regular file at the socket's path is not "a stale socket".
        FileManager.default.createFile(atPath: t.dir.path + "/plain.sock", contents: Data("x".utf8))
        let plain = try await Self.ingestctl(["health", "--socket", t.dir.path + "/plain.sock"])
        #expect(plain.code == 3 && plain.err.contains("not a socket"), "\(plain.err)")
        let byEnv = try await Self.ingestctl(["health"], environment: ["STORAGE_PATH": t.dir.path + "/store"])
        #expect(byEnv.code == 3 && byEnv.err.contains(t.dir.path + "/store/ingestd.sock"))
        #expect(try await Self.ingestctl(["health"], environment: ["CONTROL_SOCKET": t.socket]).code == 0)

        // completions
        let completion = try await Self.ingestctl(["--generate-completion-script", "bash"])
        #expect(completion.code == 0 && completion.out.contains("ingestctl"))
    }

    @Test(.enabled(if: binary != nil)) func eventsFollowsTheStream() async throws {
        let t = try await TestServer.start()
        defer { Task { await t.stop() } }
        let run = Task { try await Self.ingestctl(["events", "--since", "9", "--json", "--socket", t.socket]) }
        for _ in 0..<100 where t.backend.eventSubscribers.withLock({ $0.isEmpty }) {
            try await Task.sleep(for: .milliseconds(20))
        }
        t.backend.emit("{\"id\":11,\"type\":\"ingested\",\"project_id\":\"demo\"}\n")
        t.backend.endEvents()
        let r = try await run.value
        // Everything sent is printed; the stream's end (the server stopping) is exit 3, "cannot be reached".
        #expect(r.code == 3)
        #expect(
            r.out == "{\"id\":10,\"type\":\"replayed\"}\n{\"id\":11,\"type\":\"ingested\",\"project_id\":\"demo\"}\n"
        )
    }
}
