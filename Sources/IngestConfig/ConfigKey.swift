/// Every configuration key the SPEC defines; the one list of keys ingestd accepts.
public enum ConfigKey: String, CaseIterable, Sendable {
    case storagePath = "STORAGE_PATH"
    case dropPath = "DROP_PATH"
    case controlSocket = "CONTROL_SOCKET"
    case uploadMaxSize = "UPLOAD_MAX_SIZE"
    case allowedExtensions = "ALLOWED_EXTENSIONS"
    case ffmpegThreads = "FFMPEG_THREADS"
    case videoOutputFormat = "VIDEO_OUTPUT_FORMAT"
    case thumbnailWidth = "THUMBNAIL_WIDTH"
    case settleMS = "SETTLE_MS"
    case defaultProject = "DEFAULT_PROJECT"
    case duplicates = "DUPLICATES"
    case controlSocketMode = "CONTROL_SOCKET_MODE"
    case controlSocketGroup = "CONTROL_SOCKET_GROUP"
    case logLevel = "LOG_LEVEL"
    case minFreeBytes = "MIN_FREE_BYTES"
    case catalogURL = "CATALOG_URL"
    case projectQuotaBytes = "PROJECT_QUOTA_BYTES"
    case renditions = "RENDITIONS"
    case spriteInterval = "SPRITE_INTERVAL"
    case nodeID = "NODE_ID"
}

extension ConfigKey {
    /// Whether a reload (SIGHUP) applies a new value to the running daemon. The others are read once at start
    /// (paths, the socket, the catalog, the node's name): a reload keeps their running value and says that a
    /// restart is needed.
    public var appliesLive: Bool {
        switch self {
        case .storagePath, .dropPath, .controlSocket, .controlSocketMode, .controlSocketGroup, .catalogURL, .nodeID:
            false
        default:
            true
        }
    }
}

extension IngestConfiguration {
    /// `self` (a newly read configuration) with every key that does not apply live set back to its value in
    /// `running`, and the keys whose change therefore waits for a restart.
    public func applyingLive(over running: IngestConfiguration) -> (IngestConfiguration, needRestart: [ConfigKey]) {
        var applied = self
        var needRestart: [ConfigKey] = []
        func keep<T: Equatable>(_ key: ConfigKey, _ path: WritableKeyPath<IngestConfiguration, T>) {
            guard !key.appliesLive, self[keyPath: path] != running[keyPath: path] else { return }
            needRestart.append(key)
            applied[keyPath: path] = running[keyPath: path]
        }
        for key in ConfigKey.allCases where !key.appliesLive {
            switch key {
            case .storagePath: keep(key, \.storagePath)
            case .dropPath: keep(key, \.dropPath)
            case .controlSocket: keep(key, \.controlSocket)
            case .controlSocketMode: keep(key, \.controlSocketMode)
            case .controlSocketGroup: keep(key, \.controlSocketGroup)
            case .catalogURL: keep(key, \.catalogURL)
            case .nodeID: keep(key, \.nodeID)
            default: break
            }
        }
        return (applied, needRestart)
    }
}
