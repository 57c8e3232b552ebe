import IngestConfig
import Logging

@testable import IngestDaemon

extension DaemonContext {
    /// A daemon context on fresh folders below `dir` (drop, storage, the SQLite catalog), as node `nodeID`.
    static func forTests(in dir: TempDir, nodeID: String) throws -> DaemonContext {
        var config = IngestConfiguration()
        config.storagePath = dir.path + "/storage"
        config.dropPath = dir.path + "/drop"
        config.nodeID = nodeID
        return try DaemonContext(config: config, logger: Logger(label: "test"))
    }
}
