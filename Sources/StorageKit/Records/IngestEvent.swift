import Foundation

/// One entry of the `/events` stream (SPEC "Control API", `GET /events`). Stored in the catalog,
/// which gives it a consecutive integer `id`; JSON keys are snake_case and `nil` fields are left out.
public struct IngestEvent: Codable, Sendable, Equatable {
    /// What happened; the raw values are the SPEC's event type names.
    public enum EventType: String, Codable, Sendable, CaseIterable {
        case ingested
        case rejected
        case thumbnailReady = "thumbnail_ready"
        case renditionReady = "rendition_ready"
        case spriteReady = "sprite_ready"
        case deleted
        case failed
    }

    /// Consecutive id assigned by the catalog (1, 2, 3 …); `0` before the event is stored.
    public var id: Int64 = 0
    public var type: EventType
    /// When it happened; encoded as ISO-8601 UTC with milliseconds.
    @ISO8601MillisCoded public var at: Date = ISO8601Millis.now()
    /// The `NODE_ID` of the node that wrote it; stamped by the catalog when `nil`.
    public var node: String?
    public var projectID: String
    public var assetID: String?
    public var filename: String?
    /// The step a `failed` event tells of: `thumbnail`, `sprite` or `rendition`.
    public var step: String?
    /// The rendition's name (`720p`) for `rendition_ready`, and for a `failed` event of step `rendition` the one
    /// that failed (absent when the whole job failed before any one was begun).
    public var rendition: String?
    /// Rejection reason code (`extension_not_allowed`, `duplicate`, …).
    public var reason: String?
    /// Why a step failed.
    public var error: String?
    /// A human sentence with more context.
    public var detail: String?

    /// The JSON keys, in the order they are written; `nil` fields are left out.
    enum CodingKeys: String, SnakeCaseCodingKey {
        case id, type, at, node, projectID, assetID, filename, step, rendition, reason, error, detail
    }
}

extension IngestEvent {
    /// A new event about `asset` (its project, id and stored name), not yet stored (`id` 0); `rendition` names the
    /// rendition of a `rendition_ready` event, `step`, `rendition` and `error` tell what failed in a `failed` one.
    public init(
        _ type: EventType,
        about asset: Asset,
        step: String? = nil,
        rendition: String? = nil,
        error: String? = nil
    ) {
        self.init(
            type: type,
            projectID: asset.projectID,
            assetID: asset.id,
            filename: asset.filename,
            step: step,
            rendition: rendition,
            error: error
        )
    }

    /// A new event about a project rather than one asset (a rejected file, the project's storage deleted), not
    /// yet stored (`id` 0).
    public init(
        _ type: EventType,
        project: String,
        filename: String? = nil,
        reason: String? = nil,
        detail: String? = nil
    ) {
        self.init(type: type, projectID: project, filename: filename, reason: reason, detail: detail)
    }

    /// The `ingested` event of an asset that just became `ready`.
    public static func ingested(_ asset: Asset) -> IngestEvent {
        IngestEvent(.ingested, about: asset)
    }

    /// The `failed` event of `asset`'s `step` (`thumbnail`, `sprite`, `rendition`), with the rendition's name when
    /// one rendition failed; `error` speaks of the file as the user named it, never of internal paths.
    public static func failed(_ asset: Asset, step: String, rendition: String? = nil, error: String) -> IngestEvent {
        IngestEvent(.failed, about: asset, step: step, rendition: rendition, error: error)
    }
}
