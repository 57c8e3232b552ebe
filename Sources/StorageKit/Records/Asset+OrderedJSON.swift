extension Asset: OrderedJSONRepresentable {
    public func writeJSON(into out: inout [UInt8]) {
        var object = JSONObjectWriter()
        object.string("id", id)
        object.string("project_id", projectID)
        object.string("filename", filename)
        object.string("original_filename", originalFilename)
        object.string("relative_path", relativePath)
        object.string("checksum", checksum)
        object.integer("size_bytes", sizeBytes)
        object.string("mime_type", mimeType)
        object.string("status", status.rawValue)
        object.string("thumbnail_path", thumbnailPath)  // null until set
        object.raw("metadata", (metadata ?? MediaMetadata()).orderedJSON)
        object.raw("renditions", renditions.orderedJSON)
        if let sprite { object.raw("sprite", sprite.orderedJSON) } else { object.string("sprite", nil) }
        if status == .failed { object.string("error", error ?? "unknown error") }
        object.string("created_at", ISO8601Millis.string(from: createdAt))
        object.string("updated_at", ISO8601Millis.string(from: updatedAt))
        object.finish(into: &out)
    }
}

extension MediaMetadata: OrderedJSONRepresentable {
    public func writeJSON(into out: inout [UInt8]) {
        var object = JSONObjectWriter()
        if let durationSeconds { object.number("duration_seconds", durationSeconds) }
        if let formatName { object.string("format_name", formatName) }
        if let bitRate { object.integer("bit_rate", Int64(bitRate)) }
        if let width { object.integer("width", Int64(width)) }
        if let height { object.integer("height", Int64(height)) }
        if let rotation { object.integer("rotation", Int64(rotation)) }
        if let videoCodec { object.string("video_codec", videoCodec) }
        if let frameRate { object.number("frame_rate", frameRate) }
        if let pixelFormat { object.string("pixel_format", pixelFormat) }
        if let bitDepth { object.integer("bit_depth", Int64(bitDepth)) }
        if let colorTransfer { object.string("color_transfer", colorTransfer) }
        if let audioCodec { object.string("audio_codec", audioCodec) }
        if let sampleRate { object.integer("sample_rate", Int64(sampleRate)) }
        if let channels { object.integer("channels", Int64(channels)) }
        if let creationTime { object.string("creation_time", creationTime) }
        if let make { object.string("make", make) }
        if let model { object.string("model", model) }
        if let location { object.string("location", location) }
        object.finish(into: &out)
    }
}
