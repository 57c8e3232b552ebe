extension IngestEvent: OrderedJSONRepresentable {
    /// `{"id","type","at","node","project_id", then asset_id, filename, step, rendition, reason, error, detail
    /// where they apply}`.
    public func writeJSON(into out: inout [UInt8]) {
        var object = JSONObjectWriter()
        object.integer("id", id)
        object.string("type", type.rawValue)
        object.string("at", ISO8601Millis.string(from: at))
        if let node { object.string("node", node) }
        object.string("project_id", projectID)
        if let assetID { object.string("asset_id", assetID) }
        if let filename { object.string("filename", filename) }
        if let step { object.string("step", step) }
        if let rendition { object.string("rendition", rendition) }
        if let reason { object.string("reason", reason) }
        if let error { object.string("error", error) }
        if let detail { object.string("detail", detail) }
        object.finish(into: &out)
    }
}
