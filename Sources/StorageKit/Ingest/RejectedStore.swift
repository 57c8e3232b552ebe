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

    enum CodingKeys: String, SnakeCaseCodingKey {
        case name, sizeBytes, reason, detail, rejectedAt, originalFilename
    }
}

/// Moves files that were not accepted into `rejected/project_<id>/` with a `<name>.reason.json` beside them.
/// Never copies, never deletes, never overwrites.
public struct RejectedStore: Sendable {
    public let layout: StorageLayout
    /// Where the temporary file of a reason is written: a node's own folder in `.staging` (made when missing).
    let temporaryDirectory: String

    /// A store writing its temporary files in `temporaryDirectory` (`STORAGE_PATH/.staging` when nil).
    public init(layout: StorageLayout, temporaryDirectory: String? = nil) {
        self.layout = layout
        self.temporaryDirectory = temporaryDirectory ?? layout.stagingPath
    }

    /// Moves `path` (any file type: a symlink or FIFO is moved as itself, never opened) under `name` or
    /// `<stem>-<n><ext>` (always the latter for a name ending in `.reason.json`), writing the reason file first so that a rejected file always has its reason.
    /// A name that would leave its `<name>.reason.json` longer than 255 bytes is cut in its stem, keeping its
    /// extension (the reason's `original_filename` keeps it whole).
    /// Returns the name used, or `nil` when `path` vanished before it could be moved.
    @discardableResult
    public func reject(
        path: some SyscallPath,
        as name: String,
        project: ProjectID,
        rejection: Rejection
    ) throws -> String? {
        try reject(path: path, as: Array(name.utf8), project: project, rejection: rejection)
    }

    /// ``reject(path:as:project:rejection:)`` with the name's bytes, which need not be UTF-8: a dropped file
    /// keeps its own name in `rejected/`, byte for byte. The name returned is its text (for records and logs).
    @discardableResult
    public func reject(
        path: some SyscallPath,
        as name: [UInt8],
        project: ProjectID,
        rejection: Rejection
    ) throws -> String? {
        let folder = layout.projectPath(.rejected, project)
        let folderPath = RawPath(folder)
        try FileOps.makeDirectories(folder)
        let safeName = RejectedStore.safeName(name)
        let reasonJSON = try RejectedStore.encoder.encode(rejection)
        let reasonSuffix = Array(".reason.json".utf8)
        // Its reason file's name must fit too: a long name is cut in its stem, keeping its extension.
        for numbered in NumberedNames(safeName, limit: 100_000, maxBytes: Self.longestName) {
            let candidate = String(decoding: numbered, as: UTF8.self)
            // A user's file never takes a name that reads as a reason file (`x.reason.json` is kept as
            // `x.reason-1.json`): it would hide from the listing and be refused by retry.
            if numbered.ends(with: reasonSuffix) { continue }
            let target = folderPath.appending(numbered)
            let reasonPath = RawPath(target.bytes + reasonSuffix)
            if try FileOps.lstat(target) != nil { continue }
            // The temporary file is made in `.staging`, where no user's name can land.
            try FileOps.makeDirectories(temporaryDirectory)
            guard
                try FileOps.writeAtomically(Array(reasonJSON), to: reasonPath, temporaryDirectory: temporaryDirectory)
                    == .renamed
            else { continue }
            switch try FileOps.renameNoReplace(path, target) {
            case .renamed:
                FileOps.syncDirectory(folder)
                return candidate
            case .targetExists:
                _ = reasonPath.withCString { unlink($0) }
                continue
            case .sourceMissing:
                _ = reasonPath.withCString { unlink($0) }
                return nil
            case .crossDevice:
                // The drop is on another filesystem: move as mv(1) does, recreating the entry here (a regular
                // file copied and synced, a link or FIFO made anew) before the original name goes.
                do {
                    guard try FileOps.moveAcrossFilesystems(path, to: target) else {
                        _ = reasonPath.withCString { unlink($0) }
                        return nil
                    }
                } catch {
                    _ = reasonPath.withCString { unlink($0) }
                    throw error
                }
                FileOps.syncDirectory(folder)
                return candidate
            }
        }
        throw StorageError(
            code: .conflict,
            message: "no free name for \(String(decoding: name, as: UTF8.self)) in \(folder)"
        )
    }

    /// Where ``restore(name:project:into:)`` put a rejected file.
    public enum Restored: Sendable, Equatable {
        /// Back in the drop, at this path.
        case inDrop(RawPath)
        /// The drop is on another filesystem: the file stays at this path in `rejected/` (its reason file
        /// removed) for the caller to ingest from there.
        case crossDevice(RawPath)
    }

    /// Moves the rejected file `name` of `project` back into the drop, into the project's folder below
    /// `dropRoot` (made when missing, never followed when it is a symlink), under the name it was dropped with
    /// (numbered when that is taken; its own name when the watcher would ignore the original), and removes its
    /// reason file; nil when `project` has no rejected file `name`. Never overwrites.
    public func restore(name: String, project: ProjectID, dropRoot: RawPath) throws -> Restored? {
        guard StorageLayout.isSafeComponent(name), !name.hasSuffix(".reason.json"),
            let stored = try storedName(name, project: project)
        else { return nil }
        let path = RawPath(layout.projectPath(.rejected, project)).appending(stored)
        let reasonPath = RawPath(path.bytes + Array(".reason.json".utf8))
        // A name that is not UTF-8 goes back under its own bytes (its reason file holds only its text).
        let original =
            String(validating: stored, as: UTF8.self) == nil
            ? nil
            : Self.readSmallFile(reasonPath).flatMap { try? JSONDecoder().decode(Rejection.self, from: $0) }?
                .originalFilename.map { Array($0.utf8) }
        let folderName = Array(project.rawValue.utf8)
        let folder = try DropAnchor.folder(folderName, in: dropRoot)
        // A name the watcher ignores (a leading dot, `.part`, …) would leave the file unseen in the drop.
        let seen = { (bytes: [UInt8]) in StorageLayout.isSafeComponent(bytes) && !DropNames.isIgnored(bytes) }
        guard let dropName = [original, stored].compactMap({ $0 }).first(where: seen) else {
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
            if case .failure(let error) = Syscall.nothingOrErrno({ reasonPath.withCString { unlink($0) } }),
                error != .noSuchFileOrDirectory
            {
                throw StorageError.syscall("restored, but unlink", path: reasonPath.description, error)
            }
            return restored
        }
        return nil
    }

    /// The bytes of the rejected file `name` names in `project`'s folder: itself, or, for a file whose name is
    /// not UTF-8 (listed with U+FFFD in place of what is not), the one file whose name reads as `name`.
    private func storedName(_ name: String, project: ProjectID) throws -> [UInt8]? {
        let folder = layout.projectPath(.rejected, project)
        if try FileOps.lstat(folder + "/" + name) != nil { return Array(name.utf8) }
        let matches = Self.rawNames(in: folder).filter {
            String(validating: $0, as: UTF8.self) == nil && String(decoding: $0, as: UTF8.self) == name
        }
        return matches.count == 1 ? matches[0] : nil
    }

    /// Every name in `folder`, as bytes; none when it cannot be read.
    private static func rawNames(in folder: String) -> [[UInt8]] {
        guard let stream = try? DirectoryStream(opening: folder) else { return [] }
        var names: [[UInt8]] = []
        while let entry = try? stream.next() {
            names.append(entry.nameBytes)
        }
        return names
    }

    /// The contents of a small file (a reason file), read without following a symlink; nil when it cannot be.
    private static func readSmallFile(_ path: RawPath) -> Data? {
        guard let fd = try? FileOps.openForReading(path) else { return nil }
        defer { close(fd) }
        var data = Data()
        var chunk = [UInt8](repeating: 0, count: 16 << 10)
        while data.count < 1 << 20 {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { break }
            data.append(contentsOf: chunk[0..<n])
        }
        return data
    }

    /// Lists a project's rejected files with their reasons (reason files themselves are not listed). A name that
    /// is not UTF-8 is listed as text, U+FFFD in place of what is not; retry takes it so.
    public func list(project: ProjectID) throws -> [RejectedFile] {
        let folderPath = RawPath(layout.projectPath(.rejected, project))
        let suffix = Array(".reason.json".utf8)
        var out: [RejectedFile] = []
        let files = Self.rawNames(in: folderPath.description).filter { !$0.ends(with: suffix) }
        for raw in files.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
            let name = String(decoding: raw, as: UTF8.self)
            let path = folderPath.appending(raw)
            let size = (try? FileOps.lstat(path))??.size ?? 0
            var entry = RejectedFile(
                name: name,
                sizeBytes: size,
                reason: "unknown",
                detail: "no reason file",
                rejectedAt: ""
            )
            if let data = Self.readSmallFile(RawPath(path.bytes + suffix)),
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
        String(decoding: safeName(Array(name.utf8)), as: UTF8.self)
    }

    /// ``safeName(_:)-(String)`` on a name's bytes, which need not be UTF-8 and are kept as they are (of any
    /// length: `reject` cuts a name too long for its reason file).
    static func safeName(_ name: [UInt8]) -> [UInt8] {
        var bytes = name.map { $0 == 0x2F || $0 == 0 ? UInt8(ascii: "_") : $0 }
        if bytes.isEmpty || bytes == [0x2E] || bytes == [0x2E, 0x2E] { bytes = Array("unnamed".utf8) }
        let dots = bytes.prefix { $0 == 0x2E }.count
        bytes.replaceSubrange(0..<dots, with: repeatElement(UInt8(ascii: "_"), count: dots))
        return bytes
    }

    /// The longest name a rejected file takes, in bytes: with `.reason.json`, NAME_MAX (255).
    static let longestName = 255 - ".reason.json".utf8.count

    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return e
    }()
}

extension Array where Element == UInt8 {
    /// Whether the bytes end with `suffix`.
    fileprivate func ends(with suffix: [UInt8]) -> Bool {
        count >= suffix.count && Array(self.suffix(suffix.count)) == suffix
    }
}
