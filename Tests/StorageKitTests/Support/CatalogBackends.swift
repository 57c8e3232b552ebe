import Foundation
import Testing

@testable import StorageKit

/// The catalog backends a catalog test runs on: SQLite always; PostgreSQL when `INGESTD_TEST_POSTGRES_URL`
/// names a server (CI starts one: scripts/pg-test-cluster.sh). Without it the PostgreSQL cases are skipped
/// with a message on stderr.
enum TestBackend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgres

    var testDescription: String { rawValue }

    /// SQLite, and PostgreSQL when a test server is configured.
    static var all: [TestBackend] { PostgresTestServer.url == nil ? [.sqlite] : [.sqlite, .postgres] }

    /// A new, empty catalog: SQLite in memory, or a fresh PostgreSQL database of its own.
    func catalog(nodeID: String = "local") throws -> Catalog {
        switch self {
        case .sqlite: return try Catalog.inMemory(nodeID: nodeID)
        case .postgres:
            return try Catalog.open(
                url: try PostgresTestServer.freshDatabase(),
                layout: StorageLayout(root: "/nonexistent"),
                nodeID: nodeID,
                poolSize: 4
            )
        }
    }
}

/// The PostgreSQL server of the tests.
enum PostgresTestServer {
    /// `INGESTD_TEST_POSTGRES_URL`, e.g. `postgres:///ingestd?host=/tmp/pg.X&user=postgres`.
    static let url: String? = {
        let value = ProcessInfo.processInfo.environment["INGESTD_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }
        if value == nil {
            FileHandle.standardError.write(
                Data(
                    "note: INGESTD_TEST_POSTGRES_URL is not set: PostgreSQL catalog tests are skipped (scripts/pg-test-cluster.sh starts a server)\n"
                        .utf8
                )
            )
        }
        return value
    }()

    private static let admin: Result<Catalog, any Error>? = url.map { url in
        Result {
            try Catalog.open(url: url, layout: StorageLayout(root: "/nonexistent"), nodeID: "test-admin", poolSize: 2)
        }
    }

    /// Creates a database of its own and returns its URL.
    static func freshDatabase() throws -> String {
        guard let url, let admin = try admin?.get() else {
            throw StorageError(code: .catalog, message: "no PostgreSQL test server")
        }
        let name = "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        try admin.reading("create test database") { try $0.execute("CREATE DATABASE \(name)", []) }
        return replacingDatabase(in: url, with: name)
    }

    /// `url` naming database `name` instead of its own.
    static func replacingDatabase(in url: String, with name: String) -> String {
        let scheme = url.range(of: "://")!.upperBound
        let rest = url[scheme...]
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let afterPath = rest[slash...].firstIndex(of: "?") ?? rest.endIndex
        return String(url[..<slash]) + "/" + name + String(rest[afterPath...])
    }
}
