import IngestConfig
import Logging

extension Catalog {
    /// The catalog-wide lock of `repair`: one node at a time.
    static let repairLockKey: Int64 = 0x696e_6765_7374_6402

    /// Opens the catalog `url` (`CATALOG_URL`) names: SQLite under `layout`, or a PostgreSQL server shared with
    /// other nodes, with up to `poolSize` connections (size it by the threads that use the catalog at once).
    ///
    /// - Throws: `CatalogURLError` for a URL that does not parse; `StorageError` `.catalogUnavailable` when the
    ///   server cannot be reached or refuses the login, `.catalog` otherwise. No message carries the password.
    public static func open(
        url: String,
        layout: StorageLayout,
        nodeID: String,
        poolSize: Int = 8,
        logger: Logger = Logger(label: "ingestd.catalog")
    ) throws -> Catalog {
        switch try CatalogURL.parse(url) {
        case .sqlite:
            return try open(layout: layout, nodeID: nodeID)
        case .postgres(let target):
            let redacted = CatalogURL.redact(url)
            let backend = try PostgresBackend(
                target: target,
                redactedURL: redacted,
                poolSize: poolSize,
                logger: logger
            )
            return Catalog(backend: backend, nodeID: nodeID)
        }
    }

    /// Runs `body` as the only `repair` among all nodes sharing this catalog; throws `.conflict` when another
    /// node is repairing.
    public func exclusiveRepair<T>(_ body: () throws -> T) throws -> T {
        try backend.exclusively(Self.repairLockKey, busy: "repair is already running on another node", body)
    }
}
