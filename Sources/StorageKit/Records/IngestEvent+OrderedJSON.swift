extension IngestEvent: OrderedJSONRepresentable {
    /// `{"id","type","at","project_id", then asset_id, filename, reason, error, detail where they apply}`.
    public func writeJSON(into out: inout [UInt8]) {
        var object = JSONObjectWriter()
        object.integer("id", id)
        object.string("type", type.rawValue)
        object.string("at", ISO8601Millis.string(from: at))
        object.string("project_id", projectID)
        if let assetID { object.string("asset_id", assetID) }
        if let filename { object.string("filename", filename) }
        if let reason { object.string("reason", reason) }
        if let error { object.string("error", error) }
        if let detail { object.string("detail", detail) }
        object.finish(into: &out)
    }
}
