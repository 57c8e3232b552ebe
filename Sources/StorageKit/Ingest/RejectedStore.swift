import Foundation
import SystemPackage

/// One entry of `rejected/project_<id>/`: the file and its reason.
public struct RejectedFile: Codable, Sendable, Equatable {
    public var name: String
    public var sizeBytes: Int64
    public var reason: String
    public var detail: String
    public var rejectedAt: String
    public var originalFilename: String?

    enum CodingKeys: String, CodingKey {
        case name
        case sizeBytes = "size_bytes"
        case reason, detail
        case rejectedAt = "rejected_at"
        case originalFilename = "original_filename"
    }
}

/// Moves files that were not accepted into `rejected/project_<id>/` with a `<name>.reason.json` beside them.
/// Never copies, never deletes, never overwrites.
public struct RejectedStore: Sendable {
    public let layout: StorageLayout

    public init(layout: StorageLayout) { self.layout = layout }

    /// Moves `path` (any file type: a symlink or FIFO is moved as itself, never opened) under `name` or
    /// `<stem>-<n><ext>` (always the latter for a name ending in `.reason.json`), writing the reason file first so that a rejected file always has its reason.
    /// Returns the name used, or `nil` when `path` vanished before it could be moved.
    @discardableResult
    public func reject(
        path: some SyscallPath,
        as name: String,
        project: ProjectID,
        rejection: Rejection
    ) throws -> String? {
        let folder = layout.projectPath(.rejected, project)
        try FileOps.makeDirectories(folder)
        let safeName = RejectedStore.safeName(name)
        let reasonJSON = try RejectedStore.encoder.encode(rejection)
        for numbered in NumberedNames(safeName, limit: 100_000) {
            let candidate = String(decoding: numbered, as: UTF8.self)
            // A user's file never takes a name that reads as a reason file (`x.reason.json` is kept as
            // `x.reason-1.json`): it would hide from the listing and be refused by retry.
            if candidate.hasSuffix(".reason.json") { continue }
            let target = folder + "/" + candidate
            let reasonPath = target + ".reason.json"
            if try FileOps.lstat(target) != nil { continue }
            // The temporary file is made in `.staging`, where no user's name can land.
            guard
                try FileOps.writeAtomically(Array(reasonJSON), to: reasonPath, temporaryDirectory: layout.stagingPath)
                    == .renamed
            else { continue }
            switch try FileOps.renameNoReplace(path, target) {
            case .renamed:
                FileOps.syncDirectory(folder)
                return candidate
            case .targetExists:
                unlink(reasonPath)
                continue
            case .sourceMissing:
                unlink(reasonPath)
                return nil
            case .crossDevice:
                // The drop is on another filesystem: move as mv(1) does, recreating the entry here (a regular
                // file copied and synced, a link or FIFO made anew) before the original name goes.
                do {
                    guard try FileOps.moveAcrossFilesystems(path, to: target) else {
                        unlink(reasonPath)
                        return nil
                    }
                } catch {
                    unlink(reasonPath)
                    throw error
                }
                FileOps.syncDirectory(folder)
                return candidate
            }
        }
        throw StorageError(code: .conflict, message: "no free name for \(name) in \(folder)")
    }

    /// Where ``restore(name:project:into:)`` put a rejected file.
    public enum Restored: Sendable, Equatable {
        /// Back in the drop, at this path.
        case inDrop(RawPath)
        /// The drop is on another filesystem: the file stays at this path in `rejected/` (its reason file
        /// removed) for the caller to ingest from there.
        case crossDevice(String)
    }

    /// Moves the rejected file `name` of `project` back into the drop, into the project's folder below
    /// `dropRoot` (made when missing, never followed when it is a symlink), under the name it was dropped with
    /// (numbered when that is taken; its own name when the watcher would ignore the original), and removes its
    /// reason file; nil when `project` has no rejected file `name`. Never overwrites.
    public func restore(name: String, project: ProjectID, dropRoot: RawPath) throws -> Restored? {
        let path = layout.projectPath(.rejected, project) + "/" + name
        guard StorageLayout.isSafeComponent(name), !name.hasSuffix(".reason.json"), try FileOps.lstat(path) != nil
        else { return nil }
        let reasonPath = path + ".reason.json"
        let original =
            FileManager.default.contents(atPath: reasonPath)
            .flatMap { try? JSONDecoder().decode(Rejection.self, from: $0) }?.originalFilename ?? name
        let folderName = Array(project.rawValue.utf8)
        let folder = try DropAnchor.folder(folderName, in: dropRoot)
        // A name the watcher ignores (a leading dot, `.part`, …) would leave the file unseen in the drop.
        let seen = { (text: String) in StorageLayout.isSafeComponent(text) && !DropNames.isIgnored(Array(text.utf8)) }
        guard let dropName = [original, name].first(where: seen) else {
            throw StorageError.conflict(
                "\(name) cannot go back into the drop: the watcher ignores names that start with a dot or end in "
                    + DropNames.temporarySuffixes.joined(separator: ", ")
            )
        }
        for candidate in NumberedNames(dropName) {
            let restored: Restored
            switch try FileOps.renameNoReplace(path, folder.entry(candidate)) {
            case .renamed: restored = .inDrop(dropRoot.appending(folderName).appending(candidate))
            case .targetExists: continue
            case .sourceMissing: return nil
            case .crossDevice: restored = .crossDevice(path)
            }
            if case .failure(let error) = Syscall.nothingOrErrno({ unlink(reasonPath) }),
                error != .noSuchFileOrDirectory
            {
                throw StorageError.syscall("restored, but unlink", path: reasonPath, error)
            }
            return restored
        }
        return nil
    }

    /// Lists a project's rejected files with their reasons (reason files themselves are not listed).
    public func list(project: ProjectID) throws -> [RejectedFile] {
        let folder = layout.projectPath(.rejected, project)
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return [] }
        var out: [RejectedFile] = []
        for name in names.sorted() where !name.hasSuffix(".reason.json") {
            let path = folder + "/" + name
            let size = (try? FileOps.lstat(path))??.size ?? 0
            var entry = RejectedFile(
                name: name,
                sizeBytes: size,
                reason: "unknown",
                detail: "no reason file",
                rejectedAt: ""
            )
            if let data = FileManager.default.contents(atPath: path + ".reason.json"),
                let r = try? JSONDecoder().decode(Rejection.self, from: data)
            {
                entry.reason = r.reason.rawValue
                entry.detail = r.detail
                entry.rejectedAt = ISO8601Millis.string(from: r.rejectedAt)
                entry.originalFilename = r.originalFilename
            }
            out.append(entry)
        }
        return out
    }

    /// A name safe as one path component: `/` and NUL cannot occur in names from the file system, but
    /// upload names come from clients. Never starts with `.` (leading dots become `_`), so it cannot hide
    /// from listings or look like one of the daemon's own names.
    static func safeName(_ name: String) -> String {
        var s = name.replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "\0", with: "_")
        if s.isEmpty || s == "." || s == ".." { s = "unnamed" }
        let dots = s.prefix { $0 == "." }.count
        if dots > 0 { s = String(repeating: "_", count: dots) + s.dropFirst(dots) }
        if s.utf8.count > 200 { s = String(decoding: Array(s.utf8.prefix(200)), as: UTF8.self) }
        return s
    }

    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return e
    }()
}
