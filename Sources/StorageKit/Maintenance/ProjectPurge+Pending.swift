import Foundation
import Logging

extension ProjectPurge {
    /// Finishes every purge that removed its project's records and stopped before all its files were gone (the
    /// process died, a file could not be removed): what no record owns in the project's folders goes, as the
    /// purge would have removed it, and the journal entry with it. Start-up runs it (before the first scan), and
    /// `repair` does before it looks at the files. Any node may finish any node's purge.
    ///
    /// A purge still running (on this node or another, which holds the project's purge lock) is left alone, and
    /// so is another finisher's. What arrived after the purge began stays: files of records ingested since
    /// (the records own them) and, in `rejected/`, files rejected since. A project that cannot be finished (a
    /// file that cannot be removed) is logged and left for the next start or repair; it never stops the others.
    ///
    /// Blocking. Returns what each finished purge removed (nothing is announced: the records' `deleted` events
    /// went with their removal).
    @discardableResult
    public static func finishPending(layout: StorageLayout, catalog: Catalog, logger: Logger) throws -> [PurgeSummary] {
        var finished: [PurgeSummary] = []
        for entry in try catalog.pendingPurges() {
            guard let project = ProjectID(exactly: entry.projectID) else { continue }
            do {
                let summary = try catalog.withPurgeLock(project, finishing: true) { () throws -> PurgeSummary? in
                    // Finished (or taken over by a new run, which is running) since the list was read.
                    guard let current = try catalog.pendingPurge(of: project) else { return nil }
                    var tally = TreeRemover.Tally()
                    for category in StorageCategory.perProject {
                        try purge(
                            project,
                            in: category,
                            layout: layout,
                            catalog: catalog,
                            keepingNewerThan: current.startedAt,
                            tally: &tally
                        )
                    }
                    try catalog.removePendingPurge(current)
                    return PurgeSummary(projectID: project.rawValue, filesRemoved: tally.files, bytesFreed: tally.bytes)
                }
                guard let summary = summary ?? nil else { continue }
                logger.notice(
                    "finished the interrupted purge of a project",
                    metadata: [
                        "project.id": "\(project)", "purged_by": "\(entry.node)",
                        "files_removed": "\(summary.filesRemoved)", "bytes_freed": "\(summary.bytesFreed)",
                    ]
                )
                finished.append(summary)
            } catch let error as StorageError where error.code == .catalogUnavailable {
                throw error
            } catch {
                logger.error(
                    "an interrupted purge could not be finished; it is left for the next start or repair",
                    metadata: ["project.id": "\(project)", "error": "\(error)"]
                )
            }
        }
        return finished
    }

    /// The projects whose purge is pending: `repair` records none of their files.
    static func pendingProjects(_ catalog: Catalog) throws -> Set<String> {
        Set(try catalog.pendingPurges().map(\.projectID))
    }
}
