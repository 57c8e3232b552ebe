import IngestConfig

/// The sprite and rendition jobs an asset gets, and the `params` they carry: what to make is fixed when the job
/// is queued, so a reload changing `RENDITIONS`, `VIDEO_OUTPUT_FORMAT` or `SPRITE_INTERVAL` applies to assets
/// queued afterwards (and `repair` brings older ones in line).
public enum DerivedWork {
    /// The job kinds this module's background service runs.
    public static let kinds: [Job.Kind] = [.sprite, .renditions]

    /// `auto` or seconds; nil for none.
    public static func spriteParams(_ interval: SpriteInterval) -> String? {
        switch interval {
        case .none: nil
        case .auto: "auto"
        case .every(let seconds): String(seconds)
        }
    }

    /// The interval a sprite job's `params` name (`auto` when unreadable).
    public static func spriteInterval(params: String) -> SpriteInterval {
        if let seconds = Double(params), seconds.isFinite, seconds > 0 { return .every(seconds) }
        return .auto
    }

    /// `mp4:720p,480p`; nil when the ladder is empty.
    public static func renditionParams(container: String, ladder: [RenditionStep]) -> String? {
        guard !ladder.isEmpty else { return nil }
        return container + ":" + ladder.map(\.rawValue).joined(separator: ",")
    }

    /// The container and ladder a renditions job's `params` name; nil when unreadable.
    public static func renditionPlan(params: String) -> (container: RenditionContainer, ladder: [RenditionStep])? {
        let parts = params.split(separator: ":", maxSplits: 1).map(String.init)
        guard parts.count == 2, let container = RenditionContainer(rawValue: parts[0]) else { return nil }
        let ladder = parts[1].split(separator: ",").compactMap { RenditionStep(rawValue: String($0)) }
        return ladder.isEmpty ? nil : (container, ladder)
    }

    /// Queues `assetID`'s sprite and renditions as `config` asks, within `tx`.
    public static func enqueue(assetID: String, config: IngestConfiguration, in tx: CatalogTransaction) throws {
        if let params = spriteParams(config.spriteInterval) {
            try tx.enqueueJob(.sprite, assetID: assetID, params: params)
        }
        if let params = renditionParams(container: config.videoOutputFormat, ladder: config.renditions) {
            try tx.enqueueJob(.renditions, assetID: assetID, params: params)
        }
    }
}
