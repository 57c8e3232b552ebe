import Prometheus
import Synchronization

/// One Prometheus counter family with a single label, each value's counter made the first time it is counted
/// (`ingestd_files_rejected_total{reason="…"}`).
final class LabelledCounters<Value: Hashable & Sendable>: Sendable {
    private let registry: PrometheusCollectorRegistry
    private let name: String
    private let label: String
    private let help: String
    private let counters = Mutex<[Value: Counter]>([:])
    /// The label's text for a value.
    private let text: @Sendable (Value) -> String

    init(
        _ registry: PrometheusCollectorRegistry,
        name: String,
        label: String,
        help: String,
        text: @escaping @Sendable (Value) -> String
    ) {
        self.registry = registry
        self.name = name
        self.label = label
        self.help = help
        self.text = text
    }

    /// Adds `amount` to `value`'s counter (0 makes the series exist at zero).
    func increment(_ value: Value, by amount: Int64 = 1) {
        counters.withLock { counters in
            let counter =
                counters[value] ?? registry.makeCounter(name: name, labels: [(label, text(value))], help: help)
            counters[value] = counter
            counter.increment(by: amount)
        }
    }
}

extension LabelledCounters where Value == String {
    convenience init(_ registry: PrometheusCollectorRegistry, name: String, label: String, help: String) {
        self.init(registry, name: name, label: label, help: help) { $0 }
    }
}
