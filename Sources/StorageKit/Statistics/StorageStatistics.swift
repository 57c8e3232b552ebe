/// What `GET /storage/stats` and `GET /projects/{id}/storage/stats` answer: for each of the seven
/// category folders, the bytes and number of regular files below it, as a walk of the disk finds.
public struct StorageStatistics: Codable, Sendable, Equatable {
    /// The storage root the figures are about.
    public var root: String
    /// The project, for per-project figures; left out of the JSON otherwise.
    public var projectID: String?
    /// One entry per `StorageCategory` raw value (all seven, zero when empty or missing).
    public var categories: [String: CategoryUsage]

    public init(root: String, projectID: String? = nil, categories: [String: CategoryUsage]) {
        self.root = root
        self.projectID = projectID
        self.categories = categories
    }

    enum CodingKeys: String, SnakeCaseCodingKey {
        case root, projectID, categories
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(root, forKey: .root)
        try c.encodeIfPresent(projectID, forKey: .projectID)
        // In the layout's order (a dictionary's own encoding has none).
        var byName = c.nestedContainer(keyedBy: CategoryKey.self, forKey: .categories)
        let known = StorageCategory.allCases.map(\.rawValue)
        for name in known + categories.keys.filter({ !known.contains($0) }).sorted() {
            if let usage = categories[name] { try byName.encode(usage, forKey: CategoryKey(stringValue: name)) }
        }
    }

    private struct CategoryKey: CodingKey {
        let stringValue: String
        init(stringValue: String) { self.stringValue = stringValue }
        var intValue: Int? { nil }
        init?(intValue: Int) { nil }
    }

    /// Walks `layout`'s category folders (for `project`: each `<category>/project_<id>` folder; its
    /// `metadata` is always zero since the store is shared). Regular files only: symlinks are
    /// never followed or counted, nor are FIFOs, sockets or devices.
    ///
    /// - Throws: `StorageError` `.io` naming the path when a folder cannot be read.
    public static func compute(layout: StorageLayout, project: ProjectID? = nil) throws -> StorageStatistics {
        var categories: [String: CategoryUsage] = [:]
        for category in StorageCategory.allCases {
            var components = [category.rawValue]
            if let project {
                guard category != .metadata else {
                    categories[category.rawValue] = .zero
                    continue
                }
                components.append(project.folderName)
            }
            // Opened step by step without following links: a symlinked category or project
            // folder is not storage and counts as empty.
            let totals = try DiskWalker.totals(in: layout.root, below: components)
            categories[category.rawValue] = CategoryUsage(bytes: totals.bytes, fileCount: totals.fileCount)
        }
        return StorageStatistics(root: layout.root, projectID: project?.rawValue, categories: categories)
    }
}
