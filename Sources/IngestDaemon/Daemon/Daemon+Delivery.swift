import NIOPosix
import StorageKit

/// The daemon's answers to `GET /projects` and the delivery routes.
extension Daemon {
    func projects() async throws -> [ProjectSummary] {
        let catalog = context.catalog
        let layout = context.layout
        return try await context.blocking.run {
            try ProjectSummary.all(catalog: catalog, layout: layout)
        }
    }

    func deliverable(project: ProjectID, id: String, item: AssetFileItem) async throws -> Deliverable {
        guard let asset = try await context.withCatalog({ try $0.asset(project: project, id: id) }) else {
            throw ControlAPIError.notFound("no asset \(id) in project \(project)")
        }
        let config = context.config.current
        var off: Set<Deliverable.DerivedKind> = []
        if config.renditions.isEmpty { off.insert(.renditions) }
        if config.spriteInterval == .none { off.insert(.sprite) }
        return try Deliverable.resolve(asset: asset, item: item, root: context.layout.root, derivedOff: off)
    }
}
