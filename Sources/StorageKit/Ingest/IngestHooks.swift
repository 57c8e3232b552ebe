/// Points inside ``Ingestor`` where a test forces the interleavings a hostile user or a crash would: a name
/// swapped between open and rename, a failure after staging, a new file renamed onto a copied source's name.
/// Every hook does nothing unless a test sets it.
struct IngestHooks: Sendable {
    /// After the dropped file was opened, before it is renamed into staging.
    var afterOpen: @Sendable (RawPath) -> Void = { _ in }
    /// After the file is staged and hashed; throwing simulates a failure of a later step.
    var afterStaging: @Sendable (String) throws -> Void = { _ in }
    /// Before the record is written (after the duplicate pre-check), with the file's checksum.
    var beforeRecord: @Sendable (String) -> Void = { _ in }
    /// After the `processing` record is committed, before the rename into `uploads/` (a purge may run here).
    var afterRecord: @Sendable (Asset) -> Void = { _ in }
    /// After the rename into `uploads/`, before the record says `ready`.
    var afterPlacement: @Sendable (Asset) -> Void = { _ in }
    /// Before a cross-filesystem source is removed from the drop; throwing simulates a failure at that step.
    var beforeSourceRemoval: @Sendable (RawPath) throws -> Void = { _ in }
}
