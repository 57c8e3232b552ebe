import StorageKit
import Testing

@testable import IngestDaemon

@Suite("DaemonMetrics")
struct DaemonMetricsTests {
    /// The value of the series `line` starts with, nil when it is absent.
    func value(_ text: String, _ series: String) -> Double? {
        text.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap { Double($0.split(separator: " ")[1]) }
    }

    @Test("labelled counters: every rejection reason exists at zero, others appear when first counted")
    func labelledCounters() {
        let metrics = DaemonMetrics(node: "n1")
        var text = metrics.render()
        for reason in RejectionReason.allCases {
            #expect(value(text, "ingestd_files_rejected_total{reason=\"\(reason.rawValue)\"}") == 0)
        }
        #expect(!text.contains("ingestd_project_files_ingested_total"))
        #expect(!text.contains("ingestd_derived_failures_total"))

        metrics.countRejected(reason: .notMedia)
        metrics.countRejected(reason: .notMedia, by: 2)
        metrics.countIngested(project: "a")
        metrics.countIngested(project: "a")
        metrics.countIngested(project: "b")
        metrics.countDerivedFailure(step: "rendition:720p")
        metrics.countDerivedFailure(step: "rendition:480p")
        metrics.countDerivedFailure(step: "sprite")
        text = metrics.render()
        #expect(value(text, "ingestd_files_rejected_total{reason=\"not_media\"}") == 3)
        #expect(value(text, "ingestd_project_files_ingested_total{project=\"a\"}") == 2)
        #expect(value(text, "ingestd_project_files_ingested_total{project=\"b\"}") == 1)
        #expect(value(text, "ingestd_files_ingested_total") == 3)
        #expect(value(text, "ingestd_derived_failures_total{step=\"rendition\"}") == 2)
        #expect(value(text, "ingestd_derived_failures_total{step=\"sprite\"}") == 1)
    }
}
