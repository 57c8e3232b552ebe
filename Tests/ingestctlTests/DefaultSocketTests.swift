import IngestConfig
import Testing

@testable import ingestctl

/// Where ingestctl looks for the daemon without `--socket` or `CONTROL_SOCKET`: the shipped systemd units' socket
/// as well as the daemon's own default (found by an audit: only `./storage/ingestd.sock` was tried).
struct DefaultSocketTests {
    @Test func theCandidatesAreTheRuntimeDirectoryTheSystemdSocketAndTheStorageSocket() throws {
        var config = IngestConfiguration()
        #expect(DefaultSocket.candidates(config) == ["/run/ingestd/control.sock", "./storage/ingestd.sock"])
        config.runtimeDirectory = "/run/other:/run/more"
        config.storagePath = "/srv/storage/"
        #expect(
            DefaultSocket.candidates(config)
                == ["/run/other/control.sock", "/run/ingestd/control.sock", "/srv/storage/ingestd.sock"]
        )
        config.runtimeDirectory = "/run/ingestd"
        #expect(DefaultSocket.candidates(config) == ["/run/ingestd/control.sock", "/srv/storage/ingestd.sock"])
    }

    @Test func theFirstThatExistsIsTaken() {
        let candidates = ["/a/control.sock", "/run/ingestd/control.sock", "./storage/ingestd.sock"]
        #expect(DefaultSocket.first(of: candidates) { $0 != "/a/control.sock" } == "/run/ingestd/control.sock")
        #expect(DefaultSocket.first(of: candidates) { $0.hasPrefix("./") } == "./storage/ingestd.sock")
        #expect(DefaultSocket.first(of: candidates) { _ in false } == nil)
        let failure = DefaultSocket.noneFound(candidates)
        #expect(failure.exitCode == 3)
        #expect(failure.message.contains("/a/control.sock, /run/ingestd/control.sock or ./storage/ingestd.sock"))
    }
}
