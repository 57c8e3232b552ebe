import Foundation
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// The staging side of recovery: each node's folder in `.staging`, a take-over of a node that stopped running,
/// files without a journal entry, and the quarantine.
extension Ingestor {
    /// Takes over the work node `node` left when it stopped running (its lock is free): its journal entries are
    /// finished or rolled back, a staged drop going into this node's drop (`dropRoot`) under its project and
    /// name so that it is ingested here (only files renamed out of that node's drop, whose staged copy is the
    /// only one; a file copied from another filesystem waits for that node, which still has its source); its folder in `.staging` and its partial files in `processed/` are
    /// cleared. Holds that node's lock meanwhile, so the work is taken once, and a restart of that node waits.
    /// Returns nil, touching nothing, while that node runs (or when it never held a lock here).
    public func takeOver(node: String, dropRoot: RawPath?) throws -> RecoverySummary? {
        guard node != catalog.nodeID,
            let lock = StorageLock.takeOver(
                node: node,
                in: layout,
                note: "node \(catalog.nodeID) (ingestd pid \(getpid()))"
            )
        else { return nil }
        defer { withExtendedLifetime(lock) {} }
        var summary = RecoverySummary()
        var journalled = Set<String>()
        for move in try catalog.pendingMoves(node: node) {
            journalled.insert(move.stagingPath)
            if move.stage == .copying || move.stage == .placedCopy {
                // Copied from that node's drop on another filesystem, most likely another host: its source is
                // there, out of this node's reach (the same path here is another file). Left whole, journal,
                // copy and record, for that node's own start-up: taking it here would ingest it twice.
                summary.leftForTheirNode += 1
                continue
            }
            let returnTo = dropRoot.flatMap { root -> RawPath? in
                guard let project = ProjectID(exactly: move.projectID) else { return nil }
                let name = PathCoding.decode(move.sourcePath).lastComponent
                return name.isEmpty ? nil : root.appending(Array(project.rawValue.utf8)).appending(name)
            }
            do {
                try recoverMove(move, returningTo: returnTo, into: &summary)
            } catch {
                quarantine(move, because: error, into: &summary)
            }
        }
        sweepStaging(layout.nodeStagingPath(node), journalled: journalled, dropRoot: dropRoot, into: &summary)
        summary.temporaryFilesRemoved += ProcessedStore(layout: layout).removeLeftovers(ofNode: node)
        return summary
    }

    /// The per-node folders in `.staging`.
    static func nodeFolders(in layout: StorageLayout) -> [String] {
        listing(layout.stagingPath).filter { $0.hasPrefix(StorageLayout.nodeStagingPrefix) }.sorted().map {
            layout.stagingPath + "/" + $0
        }
    }

    /// The names in `folder` (none when it cannot be read).
    static func listing(_ folder: String) -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
    }

    /// Files in `folder` (of `.staging`) without a journal entry (an entry lost by an older version): partial
    /// uploads and temporaries of atomic writes go; a staged drop goes back to the drop root (or the quarantine).
    ///
    /// - Parameters:
    ///   - only: the names looked at (all when nil).
    ///   - untouchedFor: an upload or temporary file goes only once unwritten for this many seconds.
    func sweepStaging(
        _ folder: String,
        only: [String]? = nil,
        journalled: Set<String>,
        untouchedFor: Double = 0,
        dropRoot: RawPath?,
        into summary: inout RecoverySummary
    ) {
        guard let names = only ?? (try? FileManager.default.contentsOfDirectory(atPath: folder)) else { return }
        let now = Date().timeIntervalSince1970
        for name in names {
            let path = folder + "/" + name
            guard !journalled.contains(path), let st = (try? FileOps.lstat(path)) ?? nil, st.kind != .directory
            else { continue }
            if name.hasPrefix(".upload-") || name.hasPrefix(FileOps.temporaryPrefix),
                now - Double(st.mtimeNanos) / 1e9 < untouchedFor
            {
                continue
            }
            if name.hasPrefix(".upload-") {
                // The daemon died while the body streamed in: never acknowledged, the client retries.
                unlink(path)
                summary.abandonedUploads += 1
            } else if name.hasPrefix(FileOps.temporaryPrefix) {
                unlink(path)
                summary.temporaryFilesRemoved += 1
            } else if let dropRoot, (try? FileOps.renameBeside(path, to: dropRoot.appending(Array(name.utf8)))) != nil {
                summary.returnedToDrop += 1
                logger.notice(
                    "a staged file without a journal entry went back to the drop",
                    metadata: ["filename": "\(name)"]
                )
            } else {
                let folder = Quarantine.path(layout) + "/orphans"
                if (try? FileOps.makeDirectories(folder)) != nil,
                    (try? FileOps.renameBeside(path, to: RawPath(folder + "/" + name))) != nil
                {
                    summary.quarantined.append("\(name): in staging without a journal entry")
                }
            }
        }
    }
}

/// `STORAGE_PATH/.staging/quarantine/`: files start-up could not put where the rules say, kept for an
/// operator (never deleted), named in the log and in `/health`.
public enum Quarantine {
    /// The quarantine folder of `layout`.
    public static func path(_ layout: StorageLayout) -> String { layout.stagingPath + "/quarantine" }

    /// What the quarantine holds, as `<folder>/<name>` entries.
    public static func contents(_ layout: StorageLayout) -> [String] {
        let root = path(layout)
        guard let folders = try? FileManager.default.contentsOfDirectory(atPath: root) else { return [] }
        var out: [String] = []
        for folder in folders.sorted() {
            for name in ((try? FileManager.default.contentsOfDirectory(atPath: root + "/" + folder)) ?? []).sorted() {
                out.append(folder + "/" + name)
            }
        }
        return out
    }
}
