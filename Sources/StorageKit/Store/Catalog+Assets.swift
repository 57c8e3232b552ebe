/// Asset records: one transaction per call.
extension Catalog {
    /// Stores a new record. Throws `.conflict` if its id or relative path is taken.
    public func insert(_ asset: Asset) throws {
        try writing("insert asset \(asset.id)") { try AssetTable.insert(asset, $0) }
    }

    /// Stores all `assets` in one transaction: all or none.
    public func insertBatch(_ assets: [Asset]) throws {
        try writing("insert \(assets.count) assets") { db in
            for asset in assets { try AssetTable.insert(asset, db) }
        }
    }

    /// Replaces the stored record with the same id. Throws `.notFound` if there is none.
    public func update(_ asset: Asset) throws {
        try writing("update asset \(asset.id)") { try AssetTable.update(asset, $0) }
    }

    /// The record with `id`, `nil` if there is none.
    public func asset(id: String) throws -> Asset? {
        try reading("get asset \(id)") { try AssetTable.asset(id: id, $0) }
    }

    /// The record with `id` if it belongs to `project`; `nil` otherwise.
    public func asset(project: ProjectID, id: String) throws -> Asset? {
        try asset(id: id).flatMap { $0.projectID == project.rawValue ? $0 : nil }
    }

    /// `project`'s records, oldest first (`created_at`, then insertion order). `after` is an asset
    /// id of the project: the page starts right after it. `limit` `nil` returns all.
    ///
    /// - Throws: `.notFound` when `after` names no asset of `project`; `.invalidArgument` for a negative limit.
    public func list(project: ProjectID, limit: Int?, after: String?) throws -> [Asset] {
        try reading("list project \(project)") { try AssetTable.list(project: project, limit: limit, after: after, $0) }
    }

    /// The newest `limit` records of `project`, still oldest first: the last page.
    public func latest(project: ProjectID, limit: Int) throws -> [Asset] {
        try reading("latest of project \(project)") { try AssetTable.latest(project: project, limit: limit, $0) }
    }

    /// Removes the record with `id` and returns it; `nil` if there was none.
    @discardableResult
    public func delete(id: String) throws -> Asset? {
        try writing("delete asset \(id)") { try AssetTable.delete(id: id, $0) }
    }

    /// Removes every record of `project`; returns how many there were.
    @discardableResult
    public func deleteProject(_ project: ProjectID) throws -> Int {
        try writing("delete project \(project)") { try AssetTable.deleteProject(project, $0) }
    }

    /// The oldest `ready` or `processing` record of `project` whose file has `checksum`: the
    /// duplicate rule's look-up, served by the (project_id, checksum) index.
    public func existing(project: ProjectID, checksum: String) throws -> Asset? {
        try reading("find checksum \(checksum) in project \(project)") {
            try AssetTable.existing(project: project, checksum: checksum, $0)
        }
    }

    /// Every record with `status`, oldest first.
    public func assets(status: AssetStatus) throws -> [Asset] {
        try reading("list status \(status.rawValue)") { try AssetTable.assets(status: status, $0) }
    }

    /// Every record, oldest first (for repair).
    public func allAssets() throws -> [Asset] {
        try reading("list all assets") { try AssetTable.all($0) }
    }

    /// Sum of `size_bytes` over `project`'s records that are not `failed` (the quota check).
    public func uploadBytes(project: ProjectID) throws -> Int64 {
        try reading("upload bytes of project \(project)") { try AssetTable.uploadBytes(project: project, $0) }
    }
}
