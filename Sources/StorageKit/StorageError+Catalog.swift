/// Factories for catalog and record errors; every message names the key or path involved.
extension StorageError {
    /// No asset with `id` (optionally: in `project`).
    public static func assetNotFound(_ id: String, project: String? = nil) -> StorageError {
        let scope = project.map { " in project \($0)" } ?? ""
        return StorageError(code: .notFound, message: "no asset with id \(String(reflecting: id))\(scope)")
    }

    /// A paging cursor that names no asset of `project`.
    public static func unknownCursor(_ after: String, project: String) -> StorageError {
        StorageError(
            code: .notFound,
            message: "paging cursor after=\(String(reflecting: after)) names no asset of project \(project)"
        )
    }

    /// No pending move with `id`.
    public static func pendingMoveNotFound(_ id: Int64) -> StorageError {
        StorageError(code: .notFound, message: "no pending move with id \(id)")
    }

    /// A write that clashes with an existing row (same asset id or same relative path).
    public static func conflict(_ what: String) -> StorageError {
        StorageError(code: .conflict, message: what)
    }

    /// The file at `path` exists but is not an SQLite database.
    public static func notSQLite(_ path: String) -> StorageError {
        StorageError(code: .catalog, message: "catalog \(path) is not an SQLite database")
    }

    /// Any other failure of the catalog at `path` while doing `operation`.
    public static func catalog(_ path: String, _ operation: String, _ detail: String) -> StorageError {
        StorageError(code: .catalog, message: "catalog \(path): \(operation): \(detail)")
    }

    /// A value that cannot be stored or read back, e.g. a record column that does not decode.
    public static func invalidValue(_ key: String, _ value: String, _ why: String) -> StorageError {
        StorageError(code: .invalidArgument, message: "\(key)=\(String(reflecting: value)): \(why)")
    }
}
