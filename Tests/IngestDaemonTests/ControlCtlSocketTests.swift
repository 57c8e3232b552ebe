import Foundation
import Testing

@testable import IngestDaemon

/// Found by a black-box audit: with neither `--socket` nor `CONTROL_SOCKET`, `ingestctl` tried one path only and
/// never the socket of the shipped systemd units; `--json` answers ended without a newline.
@Suite("ingestctl's default socket", .serialized, .timeLimit(.minutes(3)))
struct ControlCtlSocketTests {
    @Test(.enabled(if: ControlCtlTests.binary != nil)) func theDefaultIsTheFirstOfTheKnownSocketsThatExists()
        async throws
    {
        let t = try await TestServer.start()
        defer { Task { await t.stop() } }
        let store = t.dir.path + "/store"
        try FileManager.default.createDirectory(atPath: store, withIntermediateDirectories: true)
        // RUNTIME_DIRECTORY names a folder without a socket: the next known place is tried.
        try FileManager.default.createSymbolicLink(atPath: store + "/ingestd.sock", withDestinationPath: t.socket)
        let fallsThrough = try await ControlCtlTests.ingestctl(
            ["health"],
            environment: ["RUNTIME_DIRECTORY": t.dir.path + "/empty", "STORAGE_PATH": store]
        )
        if !FileManager.default.fileExists(atPath: "/run/ingestd/control.sock") {
            #expect(fallsThrough.code == 0 && fallsThrough.out.contains("status: ok"), "\(fallsThrough.err)")
        }
        // RUNTIME_DIRECTORY with the socket comes first.
        let runtime = try await ControlCtlTests.ingestctl(
            ["health"],
            environment: ["RUNTIME_DIRECTORY": t.dir.path + "/run", "STORAGE_PATH": t.dir.path + "/nowhere"]
        )
        #expect(runtime.code == 0, "\(runtime.err)")
        // None exists: exit 3, naming every path tried.
        guard !FileManager.default.fileExists(atPath: "/run/ingestd/control.sock") else { return }
        let none = try await ControlCtlTests.ingestctl(
            ["health"],
            environment: ["RUNTIME_DIRECTORY": t.dir.path + "/empty", "STORAGE_PATH": t.dir.path + "/nowhere"]
        )
        #expect(none.code == 3)
        for tried in [
            t.dir.path + "/empty/control.sock", "/run/ingestd/control.sock", t.dir.path + "/nowhere/ingestd.sock",
        ] {
            #expect(none.err.contains(tried), "\(none.err)")
        }
        // CONTROL_SOCKET names one socket: only it is tried.
        let named = try await ControlCtlTests.ingestctl(
            ["health"],
            environment: ["CONTROL_SOCKET": t.dir.path + "/nope.sock", "STORAGE_PATH": store]
        )
        #expect(named.code == 3 && named.err.contains(t.dir.path + "/nope.sock") && !named.err.contains("/run/ingestd"))
    }

    @Test(.enabled(if: ControlCtlTests.binary != nil)) func everyJSONAnswerEndsWithANewline() async throws {
        let t = try await TestServer.start()
        defer { Task { await t.stop() } }
        let s = ["--socket", t.socket, "--json"]
        for command in [["health"], ["projects"], ["stats"], ["list", "demo"], ["show", "demo", "a1"]] {
            let r = try await ControlCtlTests.ingestctl(command + s)
            #expect(r.code == 0 && r.out.hasSuffix("\n") && !r.out.hasSuffix("\n\n"), "\(command): \(r.out)")
        }
    }
}
