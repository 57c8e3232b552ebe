import Logging

extension LogEvent {
    /// The metadata a handler should print for this event: the handler's own, then the provider's, then the
    /// event's (later wins), plus `error.message` and `error.type` when the event carries an error.
    /// The same merge as swift-log's `StreamLogHandler`.
    func effectiveMetadata(base: Logger.Metadata, provider: Logger.MetadataProvider?) -> Logger.Metadata {
        var metadata = base
        if let provided = provider?.get(), !provided.isEmpty {
            metadata.merge(provided) { _, provided in provided }
        }
        if let explicit = self.metadata, !explicit.isEmpty {
            metadata.merge(explicit) { _, explicit in explicit }
        }
        if let error = self.error {
            metadata["error.message"] = "\(error)"
            metadata["error.type"] = "\(String(reflecting: type(of: error)))"
        }
        return metadata
    }
}
