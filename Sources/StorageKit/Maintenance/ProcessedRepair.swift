import Foundation
import IngestConfig

/// The part of `repair` that concerns `processed/`: records that list derived files which are gone forget
/// them, missing sprites and renditions are queued again as the configuration asks, and what no record owns
/// is removed. Folders of assets with a running job are left alone (their files are being written).
enum ProcessedRepair {
    static func run(
        layout: StorageLayout,
        catalog: Catalog,
        config: IngestConfiguration,
        dryRun: Bool,
        removing removed: Set<String> = [],
        skipping purging: Set<String> = [],
        summary: inout RepairSummary
    ) throws {
        let store = ProcessedStore(layout: layout)
        // Records the check removes (or, in a dry run, would remove) own nothing: the dry run counts what the
        // real run removes.
        let records = try catalog.allAssets().filter { !removed.contains($0.id) }
        var owned: [String: Set<String>] = [:]  // folder (relative) → file names the record lists
        var busyFolders = Set<String>()
        for var asset in records {
            guard let folder = try? store.folderRelative(for: asset) else { continue }
            let jobs = try catalog.jobs(assetID: asset.id)
            if jobs.contains(where: { $0.state == .running }) { busyFolders.insert(folder) }
            var changed = false
            asset.renditions.removeAll { rendition in
                let gone = (try? FileOps.lstat(try layout.absolute(rendition.relativePath))) == nil
                changed = changed || gone
                return gone
            }
            if let sprite = asset.sprite,
                (try? FileOps.lstat(try layout.absolute(sprite.imagePath))) == nil
                    || (try? FileOps.lstat(try layout.absolute(sprite.vttPath))) == nil
            {
                asset.sprite = nil
                changed = true
            }
            var names = Set(asset.renditions.map { FileOps.lastComponent($0.relativePath) })
            if asset.sprite != nil { names.formUnion(["sprite.jpg", "sprite.vtt"]) }
            owned[folder] = names
            guard asset.status == .ready, asset.thumbnailPath != nil else { continue }
            if changed, !dryRun {
                asset.updatedAt = ISO8601Millis.now()
                try catalog.update(asset)
            }
            let pending = Set(jobs.filter { $0.state != .failed }.map(\.kind))
            if asset.sprite == nil, let params = DerivedWork.spriteParams(config.spriteInterval),
                !pending.contains(.sprite)
            {
                summary.spritesQueued += 1
                if !dryRun { try catalog.enqueueJob(.sprite, assetID: asset.id, params: params) }
            }
            if let params = DerivedWork.renditionParams(container: config.videoOutputFormat, ladder: config.renditions),
                !pending.contains(.renditions), missesRenditions(asset, config: config, store: store)
            {
                summary.renditionsQueued += 1
                if !dryRun { try catalog.enqueueJob(.renditions, assetID: asset.id, params: params) }
            }
        }
        // A project whose purge is pending is left to the purge.
        for (project, projectFolder) in Repair.projectFolders(layout, .processed)
        where !purging.contains(project.rawValue) {
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: projectFolder)) ?? []
            for name in entries.sorted() {
                guard let relative = try? layout.relativePath(.processed, project, name) else { continue }
                guard let names = owned[relative] else {
                    summary.orphanProcessedRemoved += 1
                    if !dryRun { try store.removeFolder(relative: relative) }
                    continue
                }
                guard !busyFolders.contains(relative) else { continue }
                let files = (try? FileManager.default.contentsOfDirectory(atPath: projectFolder + "/" + name)) ?? []
                for file in files.sorted() where !names.contains(file) {
                    summary.orphanProcessedRemoved += 1
                    if !dryRun { try store.removeFolder(relative: relative + "/" + file) }
                }
            }
        }
    }

    /// Whether `asset`'s record lacks a rendition the configured ladder makes of it (judged from its
    /// metadata), in the configured container.
    static func missesRenditions(_ asset: Asset, config: IngestConfiguration, store: ProcessedStore) -> Bool {
        guard let width = asset.metadata?.width, let height = asset.metadata?.height,
            let container = RenditionContainer(rawValue: config.videoOutputFormat)
        else { return asset.renditions.isEmpty }
        let geometry = RenditionGeometry(
            codedWidth: width,
            codedHeight: height,
            rotation: asset.metadata?.rotation ?? 0
        )
        let expected = geometry.plan(config.renditions).compactMap {
            try? store.renditionRelative(for: asset, name: $0.name, container: container)
        }
        let listed = Set(asset.renditions.map(\.relativePath))
        return expected.contains { !listed.contains($0) }
    }
}
