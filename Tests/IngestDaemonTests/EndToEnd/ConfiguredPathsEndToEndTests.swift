import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Folders that cannot work together stop the start as a configuration error (exit 78, the key named), before
/// anything is made: found by the audit, a drop reached through a symlink into storage fed the daemon its own
/// socket, reason files and stored uploads in a loop (2,188 rejections in 6 s, an asset moved out of its
/// project), and a socket inside the drop was rejected by its own daemon.
@Suite(.timeLimit(.minutes(2)))
struct ConfiguredPathsEndToEndTests {
    /// Runs the daemon with `arguments` (under `root`) and returns its exit status and standard error.
    static func start(_ arguments: [String], in root: String) throws -> (status: Int32, message: String) {
        let run = try Program.runBlocking(
            DaemonHarness.ingestd,
            ["--config", "/dev/null"] + arguments,
            environment: ["PATH": "/usr/bin:/bin", "MIN_FREE_BYTES": "0"],
            directory: root,
            timeout: .seconds(30)
        )
        return (run.status, run.stderrText)
    }

    @Test func aDropThatIsALinkToTheStorageIsRefused() throws {
        let h = try DaemonHarness()
        defer { h.remove() }
        try FileManager.default.createDirectory(atPath: h.root + "/st", withIntermediateDirectories: true)
        #expect(symlink("st", h.root + "/stlink") == 0)
        let run = try Self.start(["--storage", "st", "--drop", "stlink"], in: h.root)
        #expect(run.status == 78)
        #expect(run.message.contains("DROP_PATH=stlink"), "\(run.message)")
        #expect(run.message.contains("overlap (through a symlink)"), "\(run.message)")
        // Nothing was made in either.
        #expect((try FileManager.default.contentsOfDirectory(atPath: h.root + "/st")).isEmpty)
    }

    @Test func aStorageThatIsALinkIntoTheDropIsRefused() throws {
        let h = try DaemonHarness()
        defer { h.remove() }
        try FileManager.default.createDirectory(atPath: h.drop + "/store", withIntermediateDirectories: true)
        #expect(symlink(h.drop + "/store", h.root + "/storelink") == 0)
        let run = try Self.start(["--storage", "storelink", "--drop", h.drop], in: h.root)
        #expect(run.status == 78)
        #expect(run.message.contains("STORAGE_PATH=storelink"), "\(run.message)")
        #expect((try FileManager.default.contentsOfDirectory(atPath: h.drop + "/store")).isEmpty)
    }

    @Test func aControlSocketInsideTheDropIsRefused() throws {
        let h = try DaemonHarness()
        defer { h.remove() }
        let run = try Self.start(
            ["--storage", h.storage, "--drop", h.drop, "--socket", h.drop + "/ctl.sock"],
            in: h.root
        )
        #expect(run.status == 78)
        #expect(run.message.contains("CONTROL_SOCKET=\(h.drop)/ctl.sock"), "\(run.message)")
        #expect(!FileManager.default.fileExists(atPath: h.drop + "/ctl.sock"))
    }

    @Test func aDropOrStorageThatIsAFileIsAConfigurationError() throws {
        let h = try DaemonHarness()
        defer { h.remove() }
        #expect(FileManager.default.createFile(atPath: h.root + "/file", contents: Data("x".utf8)))
        let drop = try Self.start(["--storage", h.storage, "--drop", "file"], in: h.root)
        #expect(drop.status == 78)
        #expect(drop.message.contains("DROP_PATH=file: expected a folder"), "\(drop.message)")
        let storage = try Self.start(["--storage", "file", "--drop", h.drop], in: h.root)
        #expect(storage.status == 78)
        #expect(storage.message.contains("STORAGE_PATH=file: expected a folder"), "\(storage.message)")
    }
}
