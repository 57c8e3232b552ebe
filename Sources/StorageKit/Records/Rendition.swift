/// One web-playable copy of an asset in `processed/` (SPEC "Asset record", `renditions`). Made by
/// ``ProcessedStore/placeRendition(_:name:temporary:at:)`` once the file is in place.
public struct Rendition: Codable, Sendable, Equatable {
    /// The ladder step, e.g. `720p`, or the source's own size (`120p`) when every step would be larger.
    public var name: String
    /// Below `STORAGE_PATH`, e.g. `processed/project_demo/lesson-1a2b3c4d5e/720p.mp4`.
    public var relativePath: String
    public var width: Int
    public var height: Int
    public var videoCodec: String
    /// `nil` when the source has no audio.
    public var audioCodec: String?
    public var sizeBytes: Int64

    enum CodingKeys: String, SnakeCaseCodingKey {
        case name, relativePath, width, height, videoCodec, audioCodec, sizeBytes
    }
}

/// An asset's preview sprite sheet: a JPEG grid of tiles plus WebVTT cues (SPEC "Asset record", `sprite`). Made by
/// ``ProcessedStore/storeSprite(_:for:)`` once both files are written.
public struct SpriteSheet: Codable, Sendable, Equatable {
    /// Below `STORAGE_PATH`, e.g. `processed/project_demo/lesson-1a2b3c4d5e/sprite.jpg`.
    public var imagePath: String
    /// Below `STORAGE_PATH`, e.g. `processed/project_demo/lesson-1a2b3c4d5e/sprite.vtt`.
    public var vttPath: String
    public var intervalSeconds: Double
    public var count: Int
    public var columns: Int
    public var tileWidth: Int
    public var tileHeight: Int

    enum CodingKeys: String, SnakeCaseCodingKey {
        case imagePath, vttPath, intervalSeconds, count, columns, tileWidth, tileHeight
    }
}

extension Rendition: OrderedJSONRepresentable {
    public func writeJSON(into out: inout [UInt8]) {
        var object = JSONObjectWriter()
        object.string("name", name)
        object.string("relative_path", relativePath)
        object.integer("width", Int64(width))
        object.integer("height", Int64(height))
        object.string("video_codec", videoCodec)
        if let audioCodec { object.string("audio_codec", audioCodec) }
        object.integer("size_bytes", sizeBytes)
        object.finish(into: &out)
    }
}

extension SpriteSheet: OrderedJSONRepresentable {
    public func writeJSON(into out: inout [UInt8]) {
        var object = JSONObjectWriter()
        object.string("image_path", imagePath)
        object.string("vtt_path", vttPath)
        object.number("interval_seconds", intervalSeconds)
        object.integer("count", Int64(count))
        object.integer("columns", Int64(columns))
        object.integer("tile_width", Int64(tileWidth))
        object.integer("tile_height", Int64(tileHeight))
        object.finish(into: &out)
    }
}
