import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The built `ingestd` on a PostgreSQL catalog: one node, two nodes sharing storage, a server that goes away.
/// Needs `INGESTD_TEST_POSTGRES_URL` (CI starts a server with scripts/pg-test-cluster.sh).
@Suite(.timeLimit(.minutes(4)), .enabled(if: PostgresServer.url != nil, "INGESTD_TEST_POSTGRES_URL is not set"))
struct PostgresEndToEndTests {
    /// Nodes `node-a` and `node-b` (not started) on the catalog at `url`, B sharing A's storage folder, each with
    /// its own drop and socket, and `environment` besides.
    static func twoNodes(
        url: String,
        environment: [String: String] = [:]
    ) throws -> (DaemonHarness, DaemonHarness) {
        let a = try DaemonHarness(environment: environment.merging(["CATALOG_URL": url, "NODE_ID": "node-a"]) { $1 })
        let b: DaemonHarness
        do {
            b = try DaemonHarness(environment: environment.merging(["CATALOG_URL": url, "NODE_ID": "node-b"]) { $1 })
        } catch {
            a.remove()
            throw error
        }
        b.sharedStorage = a.storage
        return (a, b)
    }

    @Test func oneNodeKeepsItsRecordsInPostgresAndWritesNoSQLiteFile() async throws {
        let url = try PostgresServer.freshDatabase()
        let h = try DaemonHarness(environment: ["CATALOG_URL": url, "NODE_ID": "solo"])
        defer { h.remove() }
        try await h.start()
        try h.drop(try await TestClips.mp4, as: "demo/lesson.mp4")
        try await waitUntil("the clip is ready with a thumbnail") {
            let a = try await h.assets("demo")
            return a.count == 1 && a[0]["thumbnail_path"] as? String != nil
        }
        #expect(try PostgresServer.query(url, "SELECT count(*) FROM assets WHERE status = 'ready'") == "1")
        #expect(try PostgresServer.query(url, "SELECT DISTINCT node FROM events") == "solo")
        #expect(!FileManager.default.fileExists(atPath: h.storage + "/metadata/catalog.sqlite"))
        #expect(try await h.request("GET", "/health").object()["node"] as? String == "solo")
        let status = try await h.stop()
        #expect(status == 0, "log: \(h.log.split(separator: "\n").suffix(30).joined(separator: "\n"))")
    }

    @Test func twoNodesOnOneCatalogBehaveAsOne() async throws {
        let url = try PostgresServer.freshDatabase()
        let (a, b) = try Self.twoNodes(url: url)
        defer {
            a.remove()
            b.remove()
        }
        try await a.start()
        try await b.start()

        // The same clip dropped on both nodes at once: stored once, the other a duplicate.
        let clip = try await TestClips.mp4
        try FileManager.default.copyItem(atPath: clip, toPath: a.root + "/same.mp4")
        try FileManager.default.copyItem(atPath: clip, toPath: b.root + "/same.mp4")
        try FileManager.default.createDirectory(atPath: a.drop + "/demo", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: b.drop + "/demo", withIntermediateDirectories: true)
        rename(a.root + "/same.mp4", a.drop + "/demo/same.mp4")
        rename(b.root + "/same.mp4", b.drop + "/demo/same.mp4")
        try await waitUntil("one is stored and one rejected") {
            let records = try await a.assets("demo")
            return records.count == 1 && records[0]["status"] as? String == "ready"
                && a.files(in: "storage/rejected/project_demo").count == 2
        }
        #expect(a.rejectionReason(project: "demo", name: "same.mp4") == "duplicate")

        // Distinct clips split across the nodes: every one stored, no name clashes, the same answers on both.
        // The issue's figure: 200 distinct clips, half on each node, all under the same names (clip.mp4).
        let clips = try await TestClips.distinctMP4s(200, into: a.root + "/clips")
        for (i, clip) in clips.enumerated() {
            try (i % 2 == 0 ? a : b).drop(clip, as: "burst/n\(i)/clip.mp4")
        }
        try await waitUntil("200 records with thumbnails", timeout: .seconds(150)) {
            let records = try await b.assets("burst")
            return records.count == 200 && records.allSatisfy { $0["thumbnail_path"] as? String != nil }
        }
        let names = try await a.assets("burst").compactMap { $0["filename"] as? String }
        #expect(Set(names).count == 200)
        let stored = a.files(in: "storage/uploads/project_burst")
        #expect(stored.count == 200)
        let statsA = try await a.request("GET", "/projects/burst/storage/stats").json() as? NSDictionary
        let statsB = try await b.request("GET", "/projects/burst/storage/stats").json() as? NSDictionary
        #expect(statsA != nil && statsA == statsB)
        // … and both equal a walk of the disk.
        let uploads = (statsA?["categories"] as? NSDictionary)?["uploads"] as? NSDictionary
        let walked = try stored.reduce(Int64(0)) { sum, name in
            let size = try FileManager.default.attributesOfItem(atPath: a.storage + "/uploads/project_burst/" + name)[
                .size
            ]
            return sum + ((size as? NSNumber)?.int64Value ?? 0)
        }
        #expect(uploads?["file_count"] as? Int == stored.count)
        #expect((uploads?["bytes"] as? NSNumber)?.int64Value == walked)
        #expect(try await a.request("GET", "/projects").text == b.request("GET", "/projects").text)

        // One event sequence: node A replays node B's events, ids consecutive.
        let lines = try await a.request("GET", "/events?since=0", maxTime: 2).text
        let events = lines.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        let ids = events.compactMap { $0["id"] as? Int }
        #expect(!ids.isEmpty && ids == Array(1...ids.count))
        #expect(events.contains { $0["node"] as? String == "node-b" && $0["type"] as? String == "ingested" })
        #expect(events.contains { $0["node"] as? String == "node-a" && $0["type"] as? String == "ingested" })
        #expect(try await a.stop() == 0)
        #expect(try await b.stop() == 0)
    }

    /// Sprite and rendition jobs are rows any node claims (`SKIP LOCKED`): with two nodes working one queue,
    /// every asset gets its sprite and rendition once, and both nodes do some of the work.
    @Test func twoNodesShareTheRenditionWork() async throws {
        let url = try PostgresServer.freshDatabase()
        let derived = ["RENDITIONS": "240p", "SPRITE_INTERVAL": "auto", "FFMPEG_THREADS": "1"]
        let (a, b) = try Self.twoNodes(url: url, environment: derived)
        defer {
            a.remove()
            b.remove()
        }
        try await a.start()
        try await b.start()
        let clips = try await TestClips.distinctMP4s(8, into: a.root + "/clips")
        for (i, clip) in clips.enumerated() { try a.drop(clip, as: "web/c\(i).mp4") }
        do {
            try await waitUntil("8 assets with a rendition and a sprite", timeout: .seconds(120)) {
                let records = try await b.assets("web")
                return records.count == 8
                    && records.allSatisfy {
                        ($0["renditions"] as? [Any])?.count == 1 && $0["sprite"] as? [String: Any] != nil
                    }
            }
        } catch {
            let jobs = try? PostgresServer.query(
                url,
                "SELECT kind || ' ' || state || ' ' || attempts || ' ' || coalesce(lease_owner, '-') FROM jobs"
            )
            let listed =
                (try? await b.request("GET", "/projects/web/videos"))
                .map { "\($0.status) \($0.text.prefix(2000))" } ?? "no answer"
            Issue.record(
                "B lists: \(listed)\njobs: \(jobs ?? "?")\nA: \(a.log.split(separator: "\n").suffix(15).joined(separator: "\n"))\nB: \(b.log.split(separator: "\n").suffix(15).joined(separator: "\n"))"
            )
            throw error
        }
        let lines = try await a.request("GET", "/events?since=0", maxTime: 2).text
        let made = lines.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }.filter { $0["type"] as? String == "rendition_ready" }
        #expect(made.count == 8, "each rendition made once")
        #expect(Set(made.compactMap { $0["node"] as? String }) == ["node-a", "node-b"], "both nodes worked")
        #expect(try PostgresServer.query(url, "SELECT count(*) FROM jobs") == "0")
        #expect(a.files(in: "storage/processed/project_web").count == 8 * 3)  // 240p.mp4, sprite.jpg, sprite.vtt
        #expect(try await a.stop() == 0)
        #expect(try await b.stop() == 0)
    }

    /// A project purged on one node while the other ingests into it ends consistent: every record has its file
    /// and every stored file its record, on both nodes' view.
    @Test func aPurgeOnOneNodeWhileTheOtherIngestsEndsConsistent() async throws {
        let url = try PostgresServer.freshDatabase()
        let (a, b) = try Self.twoNodes(url: url)
        defer {
            a.remove()
            b.remove()
        }
        try await a.start()
        try await b.start()
        let clips = try await TestClips.distinctMP4s(30, into: a.root + "/clips")
        for (i, clip) in clips.enumerated() { try b.drop(clip, as: "race/c\(i).mp4") }
        try await waitUntil("a few are stored") { try await a.assets("race").count >= 3 }
        #expect(try await a.request("DELETE", "/projects/race/storage").status == 200)
        try await waitUntil("node B took every file", timeout: .seconds(60)) {
            let queues = try await b.request("GET", "/health").object()["queues"] as? [String: Any]
            return b.files(in: "drop").isEmpty && queues?["ingest"] as? Int == 0
        }
        try await waitUntil("no record is processing") {
            try await a.assets("race").allSatisfy { $0["status"] as? String != "processing" }
        }
        let records = try await a.assets("race")
        let stored = Set(a.files(in: "storage/uploads/project_race"))
        let recorded = Set(
            records.compactMap { ($0["relative_path"] as? String)?.split(separator: "/").last.map(String.init) }
        )
        #expect(
            stored == recorded,
            "files without records: \(stored.subtracting(recorded)); records without files: \(recorded.subtracting(stored))"
        )
        let statsA = try await a.request("GET", "/projects/race/storage/stats").json() as? NSDictionary
        let statsB = try await b.request("GET", "/projects/race/storage/stats").json() as? NSDictionary
        #expect(statsA != nil && statsA == statsB)
        #expect(try await a.stop() == 0)
        #expect(try await b.stop() == 0)
    }

    /// SPEC "Several nodes": work a lost node had begun is taken over once its lease lapses, within a minute.
    @Test func aNodeKilledMidThumbnailLeavesItToTheOtherNode() async throws {
        let url = try PostgresServer.freshDatabase()
        // Node A claims the thumbnail and then stalls in the render (a debug-build switch), as a node that dies
        // mid-decode would; node B shares its catalog and storage.
        let a = try DaemonHarness(
            environment: ["CATALOG_URL": url, "NODE_ID": "node-a", "INGESTD_DEBUG_THUMBNAIL_DELAY_MS": "600000"])
        defer { a.remove() }
        let b = try DaemonHarness(environment: ["CATALOG_URL": url, "NODE_ID": "node-b"])
        defer { b.remove() }
        b.sharedStorage = a.storage
        try await a.start()
        try a.drop(try await TestClips.mp4, as: "takeover/clip.mp4")
        try await waitUntil("node A holds the thumbnail's claim") {
            try PostgresServer.query(
                url,
                "SELECT count(*) FROM jobs WHERE kind = 'thumbnail' AND state = 'running' AND lease_owner = 'node-a'"
            ) == "1"
        }
        // Node B joins once A holds the job (it would otherwise take it at once, woken by A's `ingested` event).
        try await b.start()
        let killedAt = ContinuousClock.now
        _ = try await a.stop(signal: SIGKILL)
        try await waitUntil("node B made the thumbnail", timeout: .seconds(75)) {
            try await b.assets("takeover").first?["thumbnail_path"] as? String != nil
        }
        #expect(ContinuousClock.now - killedAt < .seconds(60), "taken over after \(ContinuousClock.now - killedAt)")
        let record = try await b.assets("takeover")[0]
        #expect(record["status"] as? String == "ready")
        #expect(FileManager.default.fileExists(atPath: a.storage + "/" + (record["thumbnail_path"] as? String ?? "")))
        #expect(try await b.stop() == 0)
    }

    /// An upload while the catalog is lost is refused at once with 503 (it would otherwise wait for the server),
    /// and nothing of it stays in storage.
    @Test func anUploadWhileTheCatalogIsLostGets503AtOnce() async throws {
        let (url, clusterDir) = try PostgresServer.startPrivateCluster()
        defer { PostgresServer.stopPrivateCluster(clusterDir) }
        let h = try DaemonHarness(environment: ["CATALOG_URL": url, "NODE_ID": "uploads"])
        defer { h.remove() }
        try await h.start()
        try PostgresServer.pgctl(clusterDir + "/db", "stop -m immediate")
        try await waitUntil("health says degraded") {
            (try await h.request("GET", "/health").object()["status"] as? String) == "degraded"
        }
        // The clip is made (by ffmpeg, if no test made it yet) before the clock starts.
        let clip = try await TestClips.mp4
        let start = ContinuousClock.now
        let answer = try await h.request("POST", "/projects/up/videos?filename=clip.mp4", body: clip, maxTime: 30)
        #expect(answer.status == 503, "\(answer.text)")
        #expect(try answer.object()["error"] as? String == "catalog_unavailable")
        #expect(ContinuousClock.now - start < .seconds(5))
        #expect(h.files(in: "storage/.staging").isEmpty)
        #expect(h.files(in: "storage/uploads").isEmpty)
        #expect(try await h.stop() == 0)
    }

    /// Issue 13: a file dropped while the server is lost does not hold a worker for the write's 5 minutes: its
    /// journal entry fails at once, the file waits in the drop (tried again every few seconds, no back-off), a
    /// stop meanwhile is immediate, and once the server is back the file is stored by itself.
    @Test func aFileDroppedWhileTheServerIsLostWaitsInTheDrop() async throws {
        let (url, clusterDir) = try PostgresServer.startPrivateCluster()
        defer { PostgresServer.stopPrivateCluster(clusterDir) }
        let h = try DaemonHarness(environment: ["CATALOG_URL": url, "NODE_ID": "waiting"])
        defer { h.remove() }
        try await h.start()
        try PostgresServer.pgctl(clusterDir + "/db", "stop -m immediate")
        try h.drop(try await TestClips.mp4, as: "wait/a.mp4")
        try await Task.sleep(for: .seconds(4))
        #expect(FileManager.default.fileExists(atPath: h.drop + "/wait/a.mp4"))
        #expect(h.files(in: "storage/.staging").isEmpty)
        let start = ContinuousClock.now
        #expect(try await h.stop() == 0)
        // No service waits for the lost server: claims and heartbeats fail at once, a running job's stop gives
        // up on its bookkeeping after 3 s (its lease lapses instead).
        #expect(ContinuousClock.now - start < .seconds(10), "the stop took \(ContinuousClock.now - start)")

        try PostgresServer.pgctl(clusterDir + "/db", "start -w")
        try await h.start()
        try await waitUntil("the file is stored after the restart", timeout: .seconds(30)) {
            try await h.assets("wait").first?["status"] as? String == "ready"
        }
        // Without a restart: lost, a file dropped, back — the file is stored by itself.
        try PostgresServer.pgctl(clusterDir + "/db", "stop -m immediate")
        try h.drop(try await TestClips.mov, as: "wait/b.mov")
        try await Task.sleep(for: .seconds(4))
        try PostgresServer.pgctl(clusterDir + "/db", "start -w")
        do {
            try await waitUntil("the second file is stored once the server is back", timeout: .seconds(60)) {
                try await h.assets("wait").count == 2
            }
        } catch {
            let health = (try? await h.request("GET", "/health").text) ?? "no answer"
            Issue.record(
                "drop: \(h.files(in: "drop")); health: \(health); log: \(h.log.split(separator: "\n").suffix(40).joined(separator: "\n"))"
            )
            throw error
        }
        #expect(!h.log.contains("no longer retried"))
        #expect(try await h.stop() == 0)
    }

    @Test func aServerLostMidBurstLosesNothing() async throws {
        // A server of its own: stopping the shared one would fail every other test using it meanwhile.
        let (url, clusterDir) = try PostgresServer.startPrivateCluster()
        defer { PostgresServer.stopPrivateCluster(clusterDir) }
        let dataDir = clusterDir + "/db"
        let h = try DaemonHarness(environment: ["CATALOG_URL": url, "NODE_ID": "crashy"])
        defer { h.remove() }
        try await h.start()
        let clips = try await TestClips.distinctMP4s(30, into: h.root + "/clips")
        for (i, clip) in clips.enumerated() { try h.drop(clip, as: "burst/c\(i).mp4") }
        try await waitUntil("a few are stored") { try await h.assets("burst").count >= 3 }
        try PostgresServer.pgctl(dataDir, "stop -m immediate")
        defer { try? PostgresServer.pgctl(dataDir, "start -w") }
        try await waitUntil("health says degraded") {
            (try await h.request("GET", "/health").object()["status"] as? String) == "degraded"
        }
        try await Task.sleep(for: .seconds(2))
        try PostgresServer.pgctl(dataDir, "start -w")
        do {
            try await waitUntil("all 30 are stored with thumbnails", timeout: .seconds(120)) {
                let records = try await h.assets("burst")
                return records.count == 30 && records.allSatisfy { $0["status"] as? String == "ready" }
            }
        } catch {
            let health = (try? await h.request("GET", "/health").text) ?? "no answer"
            let statuses = ((try? await h.assets("burst")) ?? []).map {
                "\($0["original_filename"] ?? "?")=\($0["status"] ?? "?")"
            }
            Issue.record(
                "records: \(statuses.count) \(statuses.sorted()); drop: \(h.files(in: "drop")); health: \(health); log: \(h.log.split(separator: "\n").suffix(25).joined(separator: "\n"))"
            )
            throw error
        }
        #expect(h.files(in: "drop").isEmpty)
        #expect(h.files(in: "storage/uploads/project_burst").count == 30)
        #expect(try PostgresServer.query(url, "SELECT count(*) FROM events WHERE type = 'ingested'") == "30")
        #expect(h.process?.isRunning == true)
        try await waitUntil("health is ok again") {
            (try await h.request("GET", "/health").object()["status"] as? String) == "ok"
        }
        #expect(try await h.stop() == 0)
    }
}
