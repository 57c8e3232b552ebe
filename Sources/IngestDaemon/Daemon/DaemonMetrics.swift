import Prometheus
import StorageKit
import Synchronization

/// The daemon's Prometheus metrics (`GET /metrics`), names prefixed `ingestd_`.
final class DaemonMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    private let ingestedByProject: LabelledCounters<String>
    private let rejectedByReason: LabelledCounters<RejectionReason>
    private let derivedFailures: LabelledCounters<String>
    let failed: Counter
    let ingestedTotal: Counter
    let bytesIngested: Counter
    let ingestQueue: Gauge
    let thumbnailQueue: Gauge
    let settleQueue: Gauge
    let catalogBytes: Gauge
    let hashDuration: DurationHistogram
    let ingestDuration: DurationHistogram
    let thumbnailDuration: DurationHistogram
    let spriteDuration: DurationHistogram
    let renditionDuration: DurationHistogram
    let renditionQueue: Gauge
    let framesEncoded: Counter

    /// - Parameter node: `NODE_ID`, given as the `node` label of `ingestd_node_info` (with the version), so
    ///   that every node's series can be told apart and joined on it.
    init(node: String = "local") {
        let registry = self.registry
        registry.makeGauge(
            name: "ingestd_node_info",
            labels: [("node", node), ("version", IngestdVersion.string)],
            help: "This daemon's NODE_ID and version (always 1)"
        ).set(1.0 as Double)
        ingestedTotal = registry.makeCounter(name: "ingestd_files_ingested_total", help: "Files stored as ready")
        ingestedByProject = LabelledCounters(
            registry,
            name: "ingestd_project_files_ingested_total",
            label: "project",
            help: "Files stored as ready, by project"
        )
        rejectedByReason = LabelledCounters(
            registry,
            name: "ingestd_files_rejected_total",
            label: "reason",
            help: "Files moved to rejected/"
        ) { $0.rawValue }
        derivedFailures = LabelledCounters(
            registry,
            name: "ingestd_derived_failures_total",
            label: "step",
            help: "Sprites and renditions given up (the asset stays ready)"
        )
        failed = registry.makeCounter(
            name: "ingestd_files_failed_total",
            help: "Assets that failed for good after storage"
        )
        bytesIngested = registry.makeCounter(name: "ingestd_bytes_ingested_total", help: "Bytes stored in uploads/")
        func queueGauge(_ queue: String) -> Gauge {
            registry.makeGauge(
                name: "ingestd_queue_depth",
                labels: [("queue", queue)],
                help: "Items waiting or in progress"
            )
        }
        ingestQueue = queueGauge("ingest")
        thumbnailQueue = queueGauge("thumbnails")
        settleQueue = queueGauge("settle")
        catalogBytes = registry.makeGauge(name: "ingestd_catalog_size_bytes", help: "Size of the SQLite catalog file")
        let buckets: [Duration] = [
            .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
            .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5),
            .seconds(10), .seconds(30), .seconds(60), .seconds(120), .seconds(300), .seconds(600), .seconds(1800),
        ]
        func stageHistogram(_ stage: String) -> DurationHistogram {
            registry.makeDurationHistogram(
                name: "ingestd_stage_duration_seconds",
                labels: [("stage", stage)],
                buckets: buckets,
                help: "Time spent per file in each stage"
            )
        }
        ingestDuration = stageHistogram("ingest")
        hashDuration = stageHistogram("hash")
        thumbnailDuration = stageHistogram("thumbnail")
        spriteDuration = stageHistogram("sprite")
        renditionDuration = stageHistogram("rendition")
        renditionQueue = queueGauge("renditions")
        framesEncoded = registry.makeCounter(
            name: "ingestd_frames_encoded_total",
            help: "Video frames encoded into renditions"
        )
        for reason in RejectionReason.allCases { countRejected(reason: reason, by: 0) }
    }

    func countIngested(project: String) {
        ingestedByProject.increment(project)
        ingestedTotal.increment()
    }

    func countRejected(reason: RejectionReason, by amount: Int64 = 1) {
        rejectedByReason.increment(reason, by: amount)
    }

    /// A sprite or rendition given up (`step`: `sprite`, `rendition:720p`); the asset stays ready.
    func countDerivedFailure(step: String) {
        derivedFailures.increment(step.hasPrefix("rendition") ? "rendition" : step)
    }

    /// Text exposition format.
    func render() -> String { registry.emitToString() }
}
