import StorageKit

/// Which stored file of an asset a delivery route asks for (SPEC "Control API": `…/{asset_id}/content`,
/// `…/thumbnail`, `…/renditions/{name}`, `…/sprite.jpg`, `…/sprite.vtt`).
enum AssetFileItem: Equatable, Sendable {
    case content
    case thumbnail
    /// A rendition by its name (`720p`), or its name with the file's extension (`720p.mp4`).
    case rendition(String)
    case spriteImage
    case spriteVTT

    /// The item named by the last path segment of `…/{asset_id}/<segment>`; `nil` for anything else.
    init?(fileSegment: String) {
        switch fileSegment {
        case "content": self = .content
        case "thumbnail": self = .thumbnail
        case "sprite.jpg": self = .spriteImage
        case "sprite.vtt": self = .spriteVTT
        default: return nil
        }
    }

    /// How people call it in answers (`the thumbnail`, `rendition 720p`).
    var label: String {
        switch self {
        case .content: return "stored file"
        case .thumbnail: return "thumbnail"
        case .rendition(let name): return "rendition \(name)"
        case .spriteImage: return "sprite sheet"
        case .spriteVTT: return "sprite cues (sprite.vtt)"
        }
    }
}

/// A stored file chosen from an asset's record, before it is opened: where it lies below the storage root, how to
/// label it, and the strong validator the record gives for it.
///
/// Built only by ``resolve(asset:item:root:)`` from the catalog's record and the storage layout's rules, never from
/// the request's path.
struct Deliverable: Equatable, Sendable {
    /// Derived files the configuration may turn off.
    enum DerivedKind: Sendable, Hashable {
        case renditions
        case sprite
    }

    /// `STORAGE_PATH`.
    var root: String
    /// Below `root`, as the record holds it (checked to lie in the asset's own category and project folders).
    var relativePath: String
    var contentType: String
    /// The upload's SHA-256 (content only): its ETag while the file still has the recorded size.
    var checksum: String?
    /// The size the record states for the file (content only).
    var recordedSize: Int64?
    /// The name a browser saves the file under (`Content-Disposition`), for the upload only.
    var downloadName: String?
    /// What the answers call the file: `thumbnail of asset 3f2b… in project demo`.
    var description: String

    /// Picks the file `item` names from `asset`'s record.
    ///
    /// - Parameters:
    ///   - derivedOff: what the configuration turns off, said in the 404 of a rendition or sprite that is
    ///     therefore never made (`renditions` when `RENDITIONS` is empty, `sprite` when `SPRITE_INTERVAL=0`).
    /// - Throws: 404 ``ControlAPIError`` while the thumbnail, the rendition or the sprite does not exist; 404 too
    ///   when the record names a path outside the asset's own folders (a damaged record is not followed).
    static func resolve(
        asset: Asset,
        item: AssetFileItem,
        root: String,
        derivedOff: Set<DerivedKind> = []
    ) throws(ControlAPIError) -> Deliverable {
        let project = asset.projectID
        let subject = "\(item.label) of asset \(asset.id) in project \(project)"
        func inFolder(_ category: StorageCategory, _ path: String) throws(ControlAPIError) -> String {
            let prefix = category.rawValue + "/project_" + project + "/"
            guard path.hasPrefix(prefix), path.utf8.count > prefix.utf8.count else {
                throw .notFound("the \(subject) is not in storage")
            }
            return path
        }
        switch item {
        case .content:
            return Deliverable(
                root: root,
                relativePath: try inFolder(.uploads, asset.relativePath),
                contentType: asset.mimeType,
                checksum: asset.checksum,
                recordedSize: asset.sizeBytes,
                downloadName: asset.originalFilename,
                description: subject
            )
        case .thumbnail:
            guard let path = asset.thumbnailPath else {
                throw .notFound("asset \(asset.id) in project \(project) has no thumbnail yet")
            }
            return Deliverable(
                root: root,
                relativePath: try inFolder(.thumbnails, path),
                contentType: "image/jpeg",
                description: subject
            )
        case .rendition(let name):
            let match =
                asset.renditions.first { $0.name == name }
                ?? asset.renditions.first { FileOps.lastComponent($0.relativePath) == name }
            guard let rendition = match else {
                let have = asset.renditions.map(\.name)
                let none =
                    derivedOff.contains(.renditions)
                    ? " (renditions are turned off: RENDITIONS is empty)" : " (none is made yet)"
                throw .notFound(
                    "asset \(asset.id) in project \(project) has no rendition \(name)"
                        + (have.isEmpty ? none : " (it has \(have.joined(separator: ", ")))")
                )
            }
            return Deliverable(
                root: root,
                relativePath: try inFolder(.processed, rendition.relativePath),
                contentType: Self.videoType(of: rendition.relativePath),
                description:
                    "\(AssetFileItem.rendition(rendition.name).label) of asset \(asset.id) in project \(project)"
            )
        case .spriteImage, .spriteVTT:
            guard let sprite = asset.sprite else {
                throw .notFound(
                    "asset \(asset.id) in project \(project) has no sprite sheet"
                        + (derivedOff.contains(.sprite) ? " (sprite sheets are turned off: SPRITE_INTERVAL=0)" : " yet")
                )
            }
            let isImage = item == .spriteImage
            return Deliverable(
                root: root,
                relativePath: try inFolder(.processed, isImage ? sprite.imagePath : sprite.vttPath),
                contentType: isImage ? "image/jpeg" : "text/vtt",
                description: subject
            )
        }
    }

    /// `video/mp4` or `video/webm` by the rendition file's extension.
    static func videoType(of path: String) -> String {
        let name = FileOps.lastComponent(path).lowercased()
        if name.hasSuffix(".webm") { return "video/webm" }
        if name.hasSuffix(".mp4") || name.hasSuffix(".m4v") { return "video/mp4" }
        return "application/octet-stream"
    }
}
