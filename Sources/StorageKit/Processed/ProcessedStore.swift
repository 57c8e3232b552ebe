import Foundation

#if canImport(Glibc)
import Glibc
import SystemPackage
#endif

/// Where an asset's derived files live — `processed/project_<id>/<stem>-<hash10>/` — and how they get there:
/// written under a temporary name inside that folder, then renamed whole, so a reader never sees half a file.
public struct ProcessedStore: Sendable {
    public let layout: StorageLayout

    public init(layout: StorageLayout) { self.layout = layout }

    /// The folder name of a stored file `<stem>-<hash10><ext>`: `<stem>-<hash10>`.
    public static func folderName(forStored storedName: String) -> String {
        String(decoding: StoredName.split(Array(storedName.utf8)).stem, as: UTF8.self)
    }

    /// `processed/project_<id>/<stem>-<hash10>`, relative to the storage root.
    public func folderRelative(for asset: Asset) throws -> String {
        guard let project = ProjectID(exactly: asset.projectID) else { throw StorageError.unsafeName(asset.projectID) }
        return try layout.relativePath(.processed, project, Self.folderName(forStored: asset.filename))
    }

    /// The rendition `name` (`720p`) of `asset` in `container`, relative to the storage root.
    public func renditionRelative(for asset: Asset, name: String, container: RenditionContainer) throws -> String {
        let file = name + "." + container.fileExtension
        guard StorageLayout.isSafeComponent(file) else { throw StorageError.unsafeName(file) }
        return try folderRelative(for: asset) + "/" + file
    }

    /// Creates the asset's folder and returns a fresh temporary path in it for `relative` (a file in it),
    /// written by node `owner`.
    public func temporaryPath(for relative: String, owner: String) throws -> String {
        let final = try layout.absolute(relative)
        let folder = FileOps.parent(final)
        try FileOps.makeDirectories(folder)
        return folder + "/" + FileOps.temporaryName(for: final, owner: owner)
    }

    /// How long another node's temporary file must have been left unwritten before a claim of its job takes it
    /// for a leftover: a node whose lease lapsed (a catalog outage) may still be writing it.
    public static let leftoverAge: Double = 60

    /// Removes the half-written files that earlier attempts of `kind` left in `asset`'s folder: all of this
    /// node's (`node`: its earlier process died), and other nodes' once unwritten for `leftoverAge` (a node
    /// lost mid-job). Call once the job is claimed. Files of the other kind are left alone (its job may be
    /// running on another node). Returns how many went.
    @discardableResult
    public func removeLeftovers(of asset: Asset, for kind: Job.Kind, node: String) -> Int {
        let made: (String) -> Bool
        switch kind {
        case .sprite: made = { $0.hasSuffix("-sprite.jpg") || $0.hasSuffix("-sprite.vtt") }
        case .renditions:
            made = { name in RenditionContainer.allCases.contains { name.hasSuffix("." + $0.fileExtension) } }
        case .thumbnail: return 0
        }
        guard let folder = try? layout.absolute(folderRelative(for: asset)),
            let names = try? FileManager.default.contentsOfDirectory(atPath: folder)
        else { return 0 }
        var removed = 0
        let now = Date().timeIntervalSince1970
        for name in names where name.hasPrefix(FileOps.temporaryPrefix) && made(name) {
            let path = folder + "/" + name
            if FileOps.temporaryOwner(name) != node {
                guard let st = try? FileOps.lstat(path), now - Double(st.mtimeNanos) / 1e9 >= Self.leftoverAge else {
                    continue
                }
            }
            if unlink(path) == 0 { removed += 1 }
        }
        return removed
    }

    /// Removes the half-written files that node `node` left anywhere in `processed/` (every temporary file when
    /// nil: one node alone uses the storage, every one is a leftover). Call only while no process of that node
    /// runs: at its own start-up, holding its lock, or on a take-over of a node that is not running. Returns how
    /// many went.
    @discardableResult
    public func removeLeftovers(ofNode node: String?) -> Int {
        let root = layout.categoryPath(.processed)
        let files = FileManager.default
        var removed = 0
        for project in (try? files.contentsOfDirectory(atPath: root)) ?? [] where project.hasPrefix("project_") {
            let projectPath = root + "/" + project
            for folder in (try? files.contentsOfDirectory(atPath: projectPath)) ?? [] {
                let folderPath = projectPath + "/" + folder
                for name in (try? files.contentsOfDirectory(atPath: folderPath)) ?? []
                where name.hasPrefix(FileOps.temporaryPrefix) && (node == nil || FileOps.temporaryOwner(name) == node) {
                    if unlink(folderPath + "/" + name) == 0 { removed += 1 }
                }
            }
        }
        return removed
    }

    /// Moves a finished temporary file over `relative` (replacing an older copy) and returns its size.
    public func place(temporary: String, at relative: String) throws -> Int64 {
        let final = try layout.absolute(relative)
        if case .failure(let error) = Syscall.nothingOrErrno(retryOnInterrupt: false, { rename(temporary, final) }) {
            unlink(temporary)
            throw StorageError.syscall("rename", path: final, error)
        }
        return try FileOps.lstat(final)?.size ?? 0
    }

    /// Moves `encoded`'s finished temporary file over `relative` (``place(temporary:at:)``) and returns the
    /// record's description of the rendition `name`.
    public func placeRendition(
        _ encoded: EncodedRendition,
        name: String,
        temporary: String,
        at relative: String
    ) throws -> Rendition {
        let size = try place(temporary: temporary, at: relative)
        return Rendition(
            name: name,
            relativePath: relative,
            width: encoded.width,
            height: encoded.height,
            videoCodec: encoded.videoCodec,
            audioCodec: encoded.audioCodec,
            sizeBytes: size
        )
    }

    /// Writes `image`'s JPEG and WebVTT as `sprite.jpg` and `sprite.vtt` in the asset's folder (each written
    /// whole, the cues last) and returns the record's description of them.
    public func storeSprite(_ image: SpriteSheetImage, for asset: Asset) throws -> SpriteSheet {
        let folder = try folderRelative(for: asset)
        let imagePath = folder + "/sprite.jpg"
        let vttPath = folder + "/sprite.vtt"
        try FileOps.makeDirectories(try layout.absolute(folder))
        try FileOps.writeAtomically(image.jpeg, to: try layout.absolute(imagePath), replace: true, durable: false)
        try FileOps.writeAtomically(
            Array(image.webVTT(imageName: "sprite.jpg").utf8),
            to: try layout.absolute(vttPath),
            replace: true,
            durable: false
        )
        return SpriteSheet(
            imagePath: imagePath,
            vttPath: vttPath,
            intervalSeconds: image.intervalSeconds,
            count: image.count,
            columns: image.columns,
            tileWidth: image.tileWidth,
            tileHeight: image.tileHeight
        )
    }

    /// Removes the asset's folder and everything in it; returns what was removed (files, bytes).
    @discardableResult
    public func removeFolder(for asset: Asset) throws -> (files: Int, bytes: Int64) {
        try removeFolder(relative: try folderRelative(for: asset))
    }

    /// Removes `relative` (a folder below `processed/project_<id>/`) and everything in it.
    @discardableResult
    public func removeFolder(relative: String) throws -> (files: Int, bytes: Int64) {
        let path = try layout.absolute(relative)
        let parent = FileOps.parent(path)
        let fd: Int32
        switch Syscall.valueOrErrno({ open(parent, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }) {
        case .success(let opened): fd = opened
        case .failure(.noSuchFileOrDirectory): return (0, 0)
        case .failure(let error): throw StorageError.syscall("open", path: parent, error)
        }
        defer { close(fd) }
        var tally = TreeRemover.Tally()
        try TreeRemover.remove(FileOps.lastComponent(path), in: fd, path: path, tally: &tally)
        return (tally.files, tally.bytes)
    }
}
