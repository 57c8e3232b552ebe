/// The part of the configuration that decides what ingest accepts and how: all `Ingestor` is given, read
/// once per file (a reload applies to the next file, never to one half-way through).
public struct IngestPolicy: Sendable, Equatable {
    /// `DROP_PATH`, normalized: dropped files are named relative to it for people.
    public var dropPath: String
    /// `DEFAULT_PROJECT`: where a file whose folder cannot name a project is rejected.
    public var defaultProject: ProjectID
    /// `ALLOWED_EXTENSIONS`, lowercased, without dots.
    public var allowedExtensions: [String]
    /// `UPLOAD_MAX_SIZE` in bytes.
    public var maxSize: Int64
    /// `PROJECT_QUOTA_BYTES`; `0` is no quota.
    public var projectQuotaBytes: Int64
    /// `DUPLICATES`.
    public var duplicates: DuplicatePolicy

    /// The policy `config` describes.
    public init(_ config: IngestConfiguration) {
        dropPath = StorageLayout.normalize(config.dropPath)
        defaultProject = ProjectID(exactly: config.defaultProject) ?? ProjectID(sanitizing: "default")!
        allowedExtensions = config.allowedExtensions
        maxSize = config.uploadMaxSize
        projectQuotaBytes = config.projectQuotaBytes
        duplicates = config.duplicates
    }

    /// Whether `ext` (lowercased, without a dot) may be ingested.
    public func allows(extension ext: String) -> Bool {
        !ext.isEmpty && allowedExtensions.contains(ext)
    }
}
