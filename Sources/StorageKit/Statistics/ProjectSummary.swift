import Foundation

/// One entry of `GET /projects`: a project that has a record or a rejected file.
public struct ProjectSummary: Codable, Sendable, Equatable {
    public var projectID: String
    /// Records of the project (every status).
    public var assets: Int
    /// Sum of the records' `size_bytes`: the bytes of the project's uploads.
    public var bytes: Int64
    /// Files in `rejected/project_<id>/`, not counting their `.reason.json` files.
    public var rejected: Int

    enum CodingKeys: String, SnakeCaseCodingKey {
        case projectID, assets, bytes, rejected
    }

    /// Every project with a record in `catalog` or a rejected file below `layout`, sorted by id (byte order).
    ///
    /// - Throws: `StorageError` when the catalog cannot be read.
    public static func all(catalog: Catalog, layout: StorageLayout) throws -> [ProjectSummary] {
        var byID: [String: ProjectSummary] = [:]
        for totals in try catalog.projectTotals() {
            byID[totals.projectID] = ProjectSummary(
                projectID: totals.projectID,
                assets: totals.assets,
                bytes: totals.bytes,
                rejected: 0
            )
        }
        for (project, count) in rejectedCounts(layout: layout) where count > 0 {
            byID[
                project.rawValue,
                default: ProjectSummary(projectID: project.rawValue, assets: 0, bytes: 0, rejected: 0)
            ]
            .rejected = count
        }
        return byID.values.sorted { $0.projectID.utf8.lexicographicallyPrecedes($1.projectID.utf8) }
    }

    /// For each `rejected/project_<id>/` folder (not a symlink) with a valid id: how many rejected files it holds,
    /// counted as `GET /projects/{id}/rejected` (`RejectedStore.list`) lists them: every name but `.reason.json`.
    public static func rejectedCounts(layout: StorageLayout) -> [ProjectID: Int] {
        let base = layout.categoryPath(.rejected)
        guard let folders = try? FileManager.default.contentsOfDirectory(atPath: base) else { return [:] }
        var out: [ProjectID: Int] = [:]
        for folder in folders where folder.hasPrefix("project_") {
            guard let project = ProjectID(exactly: String(folder.dropFirst("project_".count))),
                let st = try? FileOps.lstat(base + "/" + folder), st.kind == .directory,
                let names = try? FileManager.default.contentsOfDirectory(atPath: base + "/" + folder)
            else { continue }
            out[project] = names.count(where: { !$0.hasSuffix(".reason.json") })
        }
        return out
    }
}

extension ProjectSummary: OrderedJSONRepresentable {
    /// `{"project_id","assets","bytes","rejected"}` in the SPEC's order.
    public func writeJSON(into out: inout [UInt8]) {
        var object = JSONObjectWriter()
        object.string("project_id", projectID)
        object.integer("assets", Int64(assets))
        object.integer("bytes", bytes)
        object.integer("rejected", Int64(rejected))
        object.finish(into: &out)
    }
}
