/// What became of one candidate.
public enum IngestOutcome: Sendable {
    /// Stored in `uploads/` with a `ready` record.
    case stored(Asset)
    /// Moved to `rejected/project_<id>/<storedAs>` with its reason (`storedAs` is nil if the file vanished first).
    case rejected(Rejection, project: ProjectID, storedAs: String?)
    /// Still changing (or replaced) while being read: it is back in the drop and must settle again.
    case notReady(String)
    /// Gone before it could be taken (renamed or deleted by its owner).
    case vanished
    /// Something unexpected failed; the file is left where it was (drop or staging, under the journal's care).
    case failed(String)
    /// The catalog could not be reached before anything moved: the file waits where it was until it can.
    case waitingForCatalog(String)
}
