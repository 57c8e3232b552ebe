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
    public var id: Int64
    public var type: EventType
    /// When it happened; encoded as ISO-8601 UTC with milliseconds.
    @ISO8601MillisCoded public var at: Date
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

    /// A new event; `id` stays `0` until `Catalog.appendEvent` stores it.
    public init(
        id: Int64 = 0,
        type: EventType,
        at: Date = ISO8601Millis.now(),
        node: String? = nil,
        projectID: String,
        assetID: String? = nil,
        filename: String? = nil,
        step: String? = nil,
        rendition: String? = nil,
        reason: String? = nil,
        error: String? = nil,
        detail: String? = nil
    ) {
        self.id = id
        self.type = type
        self.at = at
        self.node = node
        self.projectID = projectID
        self.assetID = assetID
        self.filename = filename
        self.step = step
        self.rendition = rendition
        self.reason = reason
        self.error = error
        self.detail = detail
    }

    /// The JSON keys, in the order they are written; `nil` fields are left out.
    enum CodingKeys: String, SnakeCaseCodingKey {
        case id, type, at, node, projectID, assetID, filename, step, rendition, reason, error, detail
    }
}

extension IngestEvent {
    /// The `ingested` event of an asset that just became `ready`.
    public static func ingested(_ asset: Asset) -> IngestEvent {
        IngestEvent(type: .ingested, projectID: asset.projectID, assetID: asset.id, filename: asset.filename)
    }
}
