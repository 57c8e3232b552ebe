import StorageKit
import Testing

@testable import IngestDaemon

/// `GET /health`'s exact body: the SPEC's keys in the SPEC's order, `reasons` only when degraded.
struct HealthReportJSONTests {
    @Test func keysAndOrder() throws {
        var report = HealthReport(
            status: "degraded",
            node: "vm",
            version: "1.2",
            uptimeSeconds: 12.5,
            queues: .init(ingest: 1, thumbnails: 2, renditions: 3, settling: 4),
            reasons: ["catalog"],
            ingested: 5
        )
        #expect(
            String(decoding: try OrderedJSONEncoder().encode(report), as: UTF8.self)
                == #"{"status":"degraded","node":"vm","version":"1.2","uptime_seconds":12.5,"queues":{"ingest":1,"thumbnails":2,"renditions":3,"settling":4},"reasons":["catalog"],"ingested":5}"#
        )
        report = HealthReport(
            status: "ok",
            node: "vm",
            version: "1.2",
            uptimeSeconds: 0,
            queues: .init(ingest: 0, thumbnails: 0, renditions: 0, settling: 0),
            reasons: nil,
            ingested: 0
        )
        #expect(
            String(decoding: try OrderedJSONEncoder().encode(report), as: UTF8.self)
                == #"{"status":"ok","node":"vm","version":"1.2","uptime_seconds":0.0,"queues":{"ingest":0,"thumbnails":0,"renditions":0,"settling":0},"ingested":0}"#
        )
    }
}
