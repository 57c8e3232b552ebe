import Foundation

#if canImport(Glibc)
import Glibc
import SystemPackage
#endif

/// Deletes a project's storage: every file below its `project_<id>` folder in each per-project
/// category (`rejected/` and its reason files included), those folders, and all its records.
public enum ProjectPurge {
    /// Removes `project`'s records, then its files and folders. Other projects are not touched, and a
    /// symlink found anywhere (even one pointing at another project or outside `STORAGE_PATH`) is removed
    /// as a link without following it.
    ///
    /// A file of the project being ingested meanwhile (on this node or another) arrives after the purge: its
    /// record and its file are kept, and everything ends consistent.
    /// - Records go first, in one transaction under the project's lock (the lock an ingest's insert takes),
    ///   except those still `processing`: their files are being placed, and their ingests finish afterwards.
    /// - Files go next: every entry of the project's folders that no record owns. The records are read after
    ///   each folder is listed; an ingest commits its record before its file appears, so a listed file whose
    ///   record exists is in that read.
    /// - Empty project folders go last (an arriving file re-creates its own).
    ///
    /// The order is journalled (`pending_purges`) in the records' transaction, durably, and the entry goes once
    /// the files are gone: if the process dies part-way (or a file cannot be removed), the next start-up of any
    /// node, or `repair`, finishes the purge (``finishPending(layout:catalog:logger:)``), and `repair` never
    /// records the files of a project whose purge is pending. Nodes keep apart through the project's purge lock:
    /// a finisher leaves alone a purge that is running.
    ///
    /// `afterStep` is a seam where a test stops the purge (by throwing) as a crash would.
    ///
    /// - Throws: `StorageError` `.io` naming the path that could not be removed, or `.catalog`.
    public static func purge(
        project: ProjectID,
        layout: StorageLayout,
        catalog: Catalog,
        afterStep: (Step) throws -> Void = { _ in }
    ) throws -> PurgeSummary {
        let summary = try catalog.withPurgeLock(project, finishing: false) {
            try purgeHoldingLock(project: project, layout: layout, catalog: catalog, afterStep: afterStep)
        }
        guard let summary else { throw StorageError.conflict("the purge of project \(project) could not start") }
        return summary
    }

    /// Where a purge stands, for ``purge(project:layout:catalog:afterStep:)``'s seam.
    public enum Step: Sendable, Equatable {
        /// The records are removed and the order journalled (committed); no file is removed yet.
        case recordsRemoved
        /// The project's folder of this category is cleared.
        case cleared(StorageCategory)
    }

    private static func purgeHoldingLock(
        project: ProjectID,
        layout: StorageLayout,
        catalog: Catalog,
        afterStep: (Step) throws -> Void
    ) throws -> PurgeSummary {
        // The start as the storage's own clock has it, the clock that stamps the files arriving after it (a
        // node's clock may be off by seconds); this node's when no file can be made to ask.
        let journal = PendingPurge(
            projectID: project.rawValue,
            node: catalog.nodeID,
            startedAt: storageClockNow(layout.nodeStagingPath(catalog.nodeID)) ?? ISO8601Millis.now()
        )
        let records = try catalog.write(durable: true) { tx in
            try tx.lockProject(project)
            try tx.putPendingPurge(journal)
            // Background jobs go with their records, so none starts writing into the folders about to go.
            try tx.cancelJobs(project: project)
            let going = try AssetTable.list(project: project, limit: nil, after: nil, tx.db)
                .filter { $0.status != .processing }
            try tx.deleteProject(project, keepingProcessing: true)
            // Each asset's end is told as a deletion of that asset is, so that a follower tracking assets
            // learns of every one.
            for asset in going {
                _ = try tx.appendEvent(IngestEvent(.deleted, about: asset))
            }
            return going.count
        }
        try afterStep(.recordsRemoved)
        var tally = TreeRemover.Tally()
        for category in StorageCategory.perProject {
            try purge(project, in: category, layout: layout, catalog: catalog, tally: &tally)
            try afterStep(.cleared(category))
        }
        try catalog.removePendingPurge(journal)
        return PurgeSummary(
            projectID: project.rawValue,
            filesRemoved: tally.files,
            bytesFreed: tally.bytes,
            recordsRemoved: records
        )
    }

    /// Removes what no record owns from `project`'s folder of `category`, and the folder once it is empty. With
    /// `keepingNewerThan` (finishing a journalled purge), an entry that is not a folder and whose status changed
    /// after that instant, in a category without records, is a new file (a rejection after the purge) and stays.
    static func purge(
        _ project: ProjectID,
        in category: StorageCategory,
        layout: StorageLayout,
        catalog: Catalog,
        keepingNewerThan cutoff: Date? = nil,
        tally: inout TreeRemover.Tally
    ) throws {
        let categoryPath = layout.categoryPath(category)
        // O_NOFOLLOW: a category folder replaced by a symlink is not entered.
        let parent: Int32
        switch Syscall.valueOrErrno({ open(categoryPath, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }) {
        case .success(let fd): parent = fd
        case .failure(.noSuchFileOrDirectory): return
        case .failure(let error): throw StorageError.syscall("open", path: categoryPath, error)
        }
        defer { close(parent) }
        let folderPath = layout.projectPath(category, project)
        let folder: Int32
        switch Syscall.valueOrErrno({
            openat(parent, project.folderName, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        }) {
        case .success(let fd): folder = fd
        case .failure(.noSuchFileOrDirectory): return
        case .failure(.tooManySymbolicLinkLevels), .failure(.notDirectory):
            // Not a folder (a symlink, a file): the entry itself goes, never what it points at.
            try TreeRemover.remove(project.folderName, in: parent, path: folderPath, tally: &tally)
            return
        case .failure(let error): throw StorageError.syscall("openat", path: folderPath, error)
        }
        defer { close(folder) }
        let listed = try TreeRemover.entryNames(in: folder, path: folderPath)
        let owned = try ownedNames(project, in: category, catalog: catalog)
        var unowned = listed.filter { name in
            name.withUnsafeBufferPointer { !owned.contains(String(cString: $0.baseAddress!)) }
        }
        if let cutoff, !category.hasRecords {
            unowned.removeAll { changed(after: cutoff, $0, in: folder) }
        }
        try TreeRemover.remove(unowned, in: folder, path: folderPath, tally: &tally)
        // Still holding a file that arrived meanwhile: ENOTEMPTY, and the folder stays.
        switch Syscall.nothingOrErrno({ unlinkat(parent, project.folderName, AT_REMOVEDIR) }) {
        case .success, .failure(.directoryNotEmpty), .failure(.fileExists), .failure(.noSuchFileOrDirectory): break
        case .failure(let error): throw StorageError.syscall("rmdir", path: folderPath, error)
        }
    }

    /// The names in `project`'s folder of `category` that belong to its records now.
    private static func ownedNames(
        _ project: ProjectID,
        in category: StorageCategory,
        catalog: Catalog
    ) throws -> Set<String> {
        let stored: (Asset) -> String
        switch category {
        case .uploads: stored = \.filename
        case .thumbnails: stored = { ThumbnailNaming.name(forStored: $0.filename) }
        case .processed: stored = { ProcessedStore.folderName(forStored: $0.filename) }
        default: return []
        }
        return Set(try catalog.list(project: project, limit: nil, after: nil).map(stored))
    }

    /// Now as the filesystem of `folder` stamps changes: the status-change time of a file made there for the
    /// asking (then removed); nil when none can be made.
    static func storageClockNow(_ folder: String) -> Date? {
        let path = folder + "/" + FileOps.temporaryName(for: folder + "/clock")
        guard let fd = try? FileOps.createExclusive(path) else { return nil }
        defer {
            close(fd)
            unlink(path)
        }
        var info = stat()
        guard fstat(fd, &info) == 0 else { return nil }
        let millis = Int64(info.st_ctim.tv_sec) * 1_000 + Int64(info.st_ctim.tv_nsec) / 1_000_000
        return ISO8601Millis.date(milliseconds: millis)
    }

    /// Whether the entry `name` of the folder open on `folder` is not a folder and its status changed after
    /// `cutoff` (a rename into the folder sets it); an entry that cannot be looked at is not.
    private static func changed(after cutoff: Date, _ name: [CChar], in folder: Int32) -> Bool {
        var info = stat()
        guard fstatat(folder, name, &info, AT_SYMLINK_NOFOLLOW) == 0, info.st_mode & S_IFMT != S_IFDIR else {
            return false
        }
        let changedMillis = Int64(info.st_ctim.tv_sec) * 1_000 + Int64(info.st_ctim.tv_nsec) / 1_000_000
        return changedMillis > ISO8601Millis.milliseconds(cutoff)
    }
}

extension StorageCategory {
    /// Whether the files of this category belong to asset records (the others, `rejected/`, `exports/` and
    /// `music/`, have none).
    var hasRecords: Bool { self == .uploads || self == .thumbnails || self == .processed }
}
