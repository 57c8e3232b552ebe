import IngestConfig
import Synchronization

/// The live configuration: read for every file, swapped whole on SIGHUP.
final class ConfigStore: Sendable {
    private let value: Mutex<IngestConfiguration>

    init(_ config: IngestConfiguration) { value = Mutex(config) }

    /// A snapshot; later changes do not affect it.
    var current: IngestConfiguration { value.withLock { $0 } }

    func replace(with config: IngestConfiguration) { value.withLock { $0 = config } }
}
