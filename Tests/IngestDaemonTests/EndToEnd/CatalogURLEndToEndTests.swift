import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A bad or unreachable catalog at start: exit non-zero, and the password appears nowhere.
@Suite(.timeLimit(.minutes(3)))
struct CatalogURLEndToEndTests {
    @Test(arguments: ["postgres://ingest:hunter2-secret@127.0.0.1:1/media", "postgres://ingest:hunter2-secret@/"])
    func aBadCatalogStopsTheStartWithoutItsPassword(_ url: String) async throws {
        let h = try DaemonHarness(environment: ["CATALOG_URL": url])
        defer { h.remove() }
        try await h.start(waitForHealth: false)
        let status = try await h.stop(signal: 0, timeout: .seconds(20))
        #expect(status != 0)
        #expect(!h.log.contains("hunter2-secret"), "\(h.log)")
        #expect(h.log.contains("postgres://ingest@"), "\(h.log)")
    }
}
