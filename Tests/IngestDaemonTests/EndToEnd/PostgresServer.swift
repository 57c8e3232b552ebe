import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The PostgreSQL server of the tests, driven with its own command-line tools.
enum PostgresServer {
    static let url: String? = ProcessInfo.processInfo.environment["INGESTD_TEST_POSTGRES_URL"].flatMap {
        $0.isEmpty ? nil : $0
    }

    /// scripts/pg-test-cluster.sh in this repository.
    static var clusterScript: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent(
                "scripts/pg-test-cluster.sh"
            )
            .path
    }

    /// Starts a throw-away cluster of the test's own (data in `DIR/db`); returns its URL and `DIR`.
    static func startPrivateCluster() throws -> (url: String, dir: String) {
        var template = Array("/tmp/ingestd-pg-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw DaemonHarness.Failure(description: "mkdtemp failed") }
        let dir = String(cString: made)
        let out = try DaemonHarness.run("/bin/bash", [clusterScript, "start", dir])
        let url = String(decoding: out, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard url.hasPrefix("postgres") else {
            throw DaemonHarness.Failure(description: "no cluster started in \(dir)")
        }
        return (url, dir)
    }

    static func stopPrivateCluster(_ dir: String) {
        _ = try? DaemonHarness.run("/bin/bash", [clusterScript, "stop", dir])
    }

    /// Creates a database of its own and returns its URL.
    static func freshDatabase() throws -> String {
        guard let url else { throw DaemonHarness.Failure(description: "no test server") }
        let name = "e2e_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        _ = try query(url, "CREATE DATABASE \(name)")
        let scheme = url.range(of: "://")!.upperBound
        let rest = url[scheme...]
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let afterPath = rest[slash...].firstIndex(of: "?") ?? rest.endIndex
        return String(url[..<slash]) + "/" + name + String(rest[afterPath...])
    }

    /// The single value `sql` answers, through psql.
    static func query(_ url: String, _ sql: String) throws -> String {
        let out = try DaemonHarness.run("/usr/bin/psql", [url, "-X", "-A", "-t", "-q", "-c", sql])
        return String(decoding: out, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Runs `pg_ctl -D dataDir ARGS` as the cluster's owner.
    static func pgctl(_ dataDir: String, _ arguments: String) throws {
        var st = stat()
        stat(dataDir, &st)
        let command = "/usr/lib/postgresql/15/bin/pg_ctl -D '\(dataDir)' -l '\(dataDir)/../pg.log' \(arguments)"
        if geteuid() == 0 && st.st_uid != 0 {
            let user = String(cString: getpwuid(st.st_uid).pointee.pw_name)
            _ = try DaemonHarness.run("/bin/su", [user, "-s", "/bin/sh", "-c", command])
        } else {
            _ = try DaemonHarness.run("/bin/sh", ["-c", command])
        }
    }
}
