import StorageKit

extension IngestEvent {
    /// The `failed` event of `asset`'s `step` (`thumbnail`, `sprite`, `rendition`), with the rendition's name when
    /// one rendition failed; `error` speaks of the file as the user named it, never of internal paths.
    static func failed(_ asset: Asset, step: String, rendition: String? = nil, error: String) -> IngestEvent {
        IngestEvent(
            type: .failed,
            projectID: asset.projectID,
            assetID: asset.id,
            filename: asset.filename,
            step: step,
            rendition: rendition,
            error: error
        )
    }
}
