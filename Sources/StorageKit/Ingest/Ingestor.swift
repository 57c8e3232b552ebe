import Foundation
import Logging
import Synchronization
import SystemPackage

/// Takes one complete candidate from the drop (or a staged upload) through validation, hashing, probing and
/// placement, keeping the crash-safety journal (`pending_moves`) so that a SIGKILL at any instant leaves the
/// file in the drop, in `uploads/` with a record, or in `rejected/`.
///
/// Blocking: call it from a thread pool, never from Swift's cooperative pool.
public final class Ingestor: Sendable {
    public let layout: StorageLayout
    public let catalog: Catalog
    public let rejected: RejectedStore
    let logger: Logger
    /// Told how long each file's single read-and-hash pass took and how many bytes it read (metrics).
    let hashObserver: @Sendable (Duration, Int64) -> Void
    /// Seams where tests force the interleavings an attacker or a crash would (nothing in production).
    let hooks: IngestHooks
    /// Assets of ingests in progress whose journal entry was written: only those can leave a file that a
    /// failure must put back, so only those wait for a lost catalog (see `rollBack`).
    let journalled = Mutex<Set<String>>([])

    public convenience init(
        layout: StorageLayout,
        catalog: Catalog,
        logger: Logger,
        hashObserver: @escaping @Sendable (Duration, Int64) -> Void = { _, _ in }
    ) {
        self.init(layout: layout, catalog: catalog, logger: logger, hashObserver: hashObserver, hooks: IngestHooks())
    }

    init(
        layout: StorageLayout,
        catalog: Catalog,
        logger: Logger,
        hashObserver: @escaping @Sendable (Duration, Int64) -> Void = { _, _ in },
        hooks: IngestHooks
    ) {
        self.layout = layout
        self.catalog = catalog
        self.rejected = RejectedStore(layout: layout, temporaryDirectory: layout.nodeStagingPath(catalog.nodeID))
        self.logger = logger
        self.hashObserver = hashObserver
        self.hooks = hooks
    }

    /// This node's own folder in `.staging` (``StorageLayout/nodeStagingPath(_:)``): another node's start-up
    /// never touches what is in it.
    public var stagingFolder: String { layout.nodeStagingPath(catalog.nodeID) }

    /// Hashes `fd` in one pass (copying to `output` when given) with a buffer sized for the file, and reports
    /// the time taken.
    func hashOnce(fd: Int32, size: Int64, copyTo output: Int32? = nil) throws -> StreamingHasher.Digest {
        let start = ContinuousClock.now
        let bufferSize = Int(min(Int64(1 << 20), max(Int64(64 << 10), size)))
        let digest = try StreamingHasher(bufferSize: bufferSize).hash(fd: fd, copyTo: output)
        hashObserver(ContinuousClock.now - start, digest.bytes)
        return digest
    }

    // MARK: - Dropped files

    /// Ingests the file at `source` for `project` (`nil`: the drop folder's name sanitized to nothing, so the
    /// file is rejected as `invalid_project` under `DEFAULT_PROJECT`).
    public func ingestDropped(source: RawPath, project: ProjectID?, policy: IngestPolicy) -> IngestOutcome {
        ingestingNewAsset(
            "ingest",
            file: "\(source)",
            shown: Self.displayName(of: source, project: project, dropPath: policy.dropPath)
        ) { assetID in
            try ingestDroppedThrowing(source: source, project: project, assetID: assetID, policy: policy)
        }
    }

    /// Runs one ingest of a new asset, `body` with the asset's fresh id, and turns its failure into the outcome
    /// both ingests give. A lost catalog before anything was journalled is `waitingForCatalog`: nothing moved,
    /// so a dropped file waits in the drop and an upload's client is told to try again (503). Any other failure
    /// is logged as `what` failing on `file` and rolled back: `stored` when the journal shows the asset stored
    /// after all, else `failed`, worded for the file's `shown` name.
    func ingestingNewAsset(
        _ what: String,
        file: String,
        shown: @autoclosure () -> String,
        _ body: (_ assetID: String) throws -> IngestOutcome
    ) -> IngestOutcome {
        let assetID = UUID.systemRandom().uuidString.lowercased()
        defer { forget(assetID) }
        do {
            return try body(assetID)
        } catch let error as StorageError
            where error.code == .catalogUnavailable && !journalled.withLock({ $0.contains(assetID) })
        {
            return .waitingForCatalog(error.message)
        } catch {
            logger.error("\(what) failed", metadata: ["filename": "\(file)", "error": "\(error)"])
            if let finished = rollBack(assetID: assetID) { return .stored(finished) }
            return .failed(UserWording.failure(error, file: shown()))
        }
    }

    private func ingestDroppedThrowing(
        source: RawPath,
        project: ProjectID?,
        assetID: String,
        policy: IngestPolicy
    ) throws -> IngestOutcome {
        let name = source.lastComponent
        let nameText = String(decoding: name, as: UTF8.self)
        let defaultProject = policy.defaultProject
        // Every drop-side syscall names the file through its folder held open (scenario 4 of issue 10).
        let anchor: DropAnchor?
        do {
            anchor = try DropAnchor.open(source, root: RawPath(policy.dropPath))
        } catch let failure as DropAnchor.Failure {
            logger.notice(
                "a folder of the drop changed under a noticed file",
                metadata: ["filename": "\(source)", "detail": "\(failure)"]
            )
            return .vanished
        }
        defer { withExtendedLifetime(anchor) {} }
        let at = anchor?.path ?? source
        guard let st = try FileOps.lstat(at) else { return .vanished }

        func reject(_ reason: RejectionReason, _ detail: String, in p: ProjectID? = nil) throws -> IngestOutcome {
            let target = p ?? project ?? defaultProject
            let r = Rejection(reason: reason, detail: detail, originalFilename: nameText)
            let storedAs = try rejected.reject(path: at, as: name, project: target, rejection: r)
            return storedAs == nil ? .vanished : .rejected(r, project: target, storedAs: storedAs)
        }

        guard let project else {
            let shown = Self.displayName(of: source, project: nil, dropPath: policy.dropPath)
            let folder = shown.split(separator: "/", maxSplits: 1).first.map(String.init) ?? shown
            return try reject(
                .invalidProject,
                "\(shown): the drop folder's name \(String(reflecting: folder)) has no character from A-Z a-z 0-9 _ - "
                    + "and cannot name a project",
                in: defaultProject
            )
        }
        switch st.kind {
        case .directory: return .vanished
        case .symlink: return try reject(.symlink, "symbolic links are never followed; drop the file itself")
        case .fifo, .socket, .device, .other:
            return try reject(.specialFile, "only regular files are ingested; this is a \(st.kind)")
        case .regular: break
        }
        if st.linkCount > 1 {
            return try reject(
                .hardLinks,
                "the file has \(st.linkCount) hard links; moving it would leave another name sharing the stored bytes"
            )
        }
        let ext = StoredName.lowercasedExtension(name)
        guard policy.allows(extension: ext) else {
            return try reject(
                .extensionNotAllowed,
                "extension \(ext.isEmpty ? "(none)" : "." + ext) is not allowed; allowed: \(policy.allowedExtensions.joined(separator: ", "))"
            )
        }
        if st.size == 0 { return try reject(.empty, "the file is empty") }
        if st.size > policy.maxSize {
            return try reject(.tooLarge, "the file has \(st.size) bytes; UPLOAD_MAX_SIZE is \(policy.maxSize)")
        }
        if policy.projectQuotaBytes > 0 {
            let used = try catalog.uploadBytes(project: project)
            if used + st.size > policy.projectQuotaBytes {
                return try reject(
                    .quotaExceeded,
                    "project \(project) holds \(used) bytes; this file's \(st.size) bytes would pass PROJECT_QUOTA_BYTES=\(policy.projectQuotaBytes)"
                )
            }
        }

        let fd = try FileOps.openForReading(at)
        defer { close(fd) }
        let before = try FileOps.fstat(fd, path: source)
        guard before.kind == .regular, before.device == st.device, before.inode == st.inode else {
            return .notReady("replaced between lstat and open")
        }

        hooks.afterOpen(source)
        try FileOps.makeDirectories(stagingFolder)
        let staging = stagingFolder + "/" + assetID + "." + ext
        var move = try journal(
            PendingMove(
                id: 0,
                assetID: assetID,
                projectID: project.rawValue,
                sourcePath: PathCoding.encode(source),
                stagingPath: staging,
                targetRelativePath: nil,
                stage: .staged,
                createdAt: ISO8601Millis.now()
            )
        )

        let digest: StreamingHasher.Digest
        var copied = false
        // rename(2) changes ctime, so the reference for "unchanged while read" is taken after the move.
        var reference = before
        switch try FileOps.renameNoReplace(at, staging) {
        case .renamed:
            reference = try FileOps.fstat(fd, path: staging)
            // The name may have been swapped between open and rename (a FIFO, a symlink, a second hard link):
            // only the object held open, with one link, may stay in staging.
            guard let staged = try FileOps.lstat(staging), staged.kind == .regular,
                staged.device == reference.device, staged.inode == reference.inode, staged.linkCount == 1
            else {
                try undoStaging(move: move, copied: false, source: at)
                return .notReady("the file was replaced while it was being taken")
            }
            guard reference.size == before.size, reference.mtimeNanos == before.mtimeNanos else {
                try undoStaging(move: move, copied: false, source: at)
                return .notReady("the file changed while it was being taken")
            }
            digest = try hashOnce(fd: fd, size: before.size)
        case .sourceMissing:
            try catalog.removePendingMove(id: move.id)
            return .vanished
        case .targetExists:
            try catalog.removePendingMove(id: move.id)
            logger.error("staging name exists", metadata: ["filename": "\(staging)"])
            let shown = Self.displayName(of: source, project: project, dropPath: policy.dropPath)
            return .failed("\(shown) could not be ingested: its staging name was taken (see the log)")
        case .crossDevice:
            // Drop and storage on different filesystems: copy while hashing (one read), fsync, and remove the
            // source only once the copy is placed.
            move.stage = .copying
            try catalog.updatePendingMove(move)
            let out = try FileOps.createExclusive(staging)
            do {
                digest = try hashOnce(fd: fd, size: before.size, copyTo: out)
                try Syscall.nothingOrErrno { fsync(out) }.orThrow("fsync", path: staging)
                close(out)
            } catch {
                close(out)
                unlink(staging)
                try? catalog.removePendingMove(id: move.id)
                throw error
            }
            copied = true
        }

        let after = try FileOps.fstat(fd, path: staging)
        guard after.isUnchanged(comparedTo: reference), digest.bytes == after.size else {
            // A writer was still at work: the file goes back to settle. Nothing is lost.
            try undoStaging(move: move, copied: copied, source: at)
            return .notReady("the file changed while it was being read")
        }
        try hooks.afterStaging(staging)
        return try finish(
            staged: staging,
            fd: fd,
            name: name,
            project: project,
            size: digest.bytes,
            checksum: digest.hex,
            move: move,
            copiedFrom: copied ? CopiedSource(path: at, identity: before, assetID: assetID) : nil,
            policy: policy,
            displayName: Self.displayName(of: source, project: project, dropPath: policy.dropPath)
        )
    }

    /// Thrown inside the record's write transaction when an asset with the same checksum is already there.
    struct DuplicateFound: Error {
        let asset: Asset
    }

    /// The drop file a cross-filesystem ingest copied: removed once the copy is placed or rejected, and only
    /// while its name still holds the file that was copied.
    struct CopiedSource {
        let path: RawPath
        let identity: FileStatus
        let assetID: String
    }

    /// The hidden name, beside it in the drop, that a copied source of `assetID` is checked under before it
    /// is removed (see `FileOps.removeIfSame`); recovery looks for it after a crash at that instant.
    static func asideName(_ assetID: String) -> [UInt8] { Array(".ingestd-unlink-\(assetID)".utf8) }

    /// Removes the copied source if its name still holds that file; a file renamed onto the name meanwhile
    /// stays (it is a new candidate).
    func removeCopiedSource(_ source: CopiedSource?) throws {
        guard let source else { return }
        try hooks.beforeSourceRemoval(source.path)
        let removal = try FileOps.removeIfSame(
            source.path,
            identity: source.identity,
            asideName: Self.asideName(source.assetID)
        )
        if case .kept(let at) = removal {
            logger.notice(
                "a new file took the name of a copied file before it was removed; it stays",
                metadata: ["filename": "\(at)"]
            )
        }
    }

}
