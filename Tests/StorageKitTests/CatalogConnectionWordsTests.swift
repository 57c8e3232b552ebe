import Foundation
import NIOCore
import Testing

@testable import StorageKit

/// An unreachable PostgreSQL catalog is described in words an operator reads (`connection refused at
/// 127.0.0.1:1`), not with SwiftNIO's system-call signatures (audit: `connect(descriptor:addr:size:): No such
/// file or directory) (errno: 2)` in `/health`'s reasons, its parentheses unbalanced).
struct CatalogConnectionWordsTests {
    @Test func aRefusedTCPConnectionNamesTheAddress() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("words-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        do {
            _ = try Catalog.open(
                url: "postgres://u:secret@127.0.0.1:1/db",
                layout: StorageLayout(root: root),
                nodeID: "n"
            )
            Issue.record("a catalog on port 1 opened")
        } catch {
            let text = "\(error)"
            #expect(text.contains("connection refused at 127.0.0.1:1"), "\(text)")
            #expect(!text.contains("descriptor") && !text.contains("secret"), "\(text)")
        }
    }

    @Test func aMissingServerSocketIsSaidSo() {
        let text = PostgresBackend.describeConnectionFailure(IOError(errnoCode: ENOENT, reason: "connect"))
        #expect(text == "no server socket: no such file or directory")
    }
}
