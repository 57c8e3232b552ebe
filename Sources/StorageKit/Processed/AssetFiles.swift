#if canImport(Glibc)
import Glibc
#endif

/// The files one asset owns on disk: its stored upload, its thumbnail (under the recorded name and the name a
/// thumbnail of it would have, in case one was written but not recorded) and its `processed/` folder.
public struct AssetFiles: Sendable {
    public let layout: StorageLayout

    public init(layout: StorageLayout) { self.layout = layout }

    /// Removes every file of `asset`; one already gone is not an error. Tries them all, then throws one
    /// error naming each file that stayed (relative to the storage root) and why. The record is gone by then:
    /// `repair` finds what stayed (a stored upload that stayed is recorded again).
    public func remove(_ asset: Asset) throws {
        var thumbnails = [asset.thumbnailPath]
        if let project = ProjectID(exactly: asset.projectID) {
            let expected = try layout.relativePath(
                .thumbnails,
                project,
                ThumbnailNaming.name(forStored: asset.filename)
            )
            if expected != asset.thumbnailPath { thumbnails.append(expected) }
        }
        var stayed: [String] = []
        for relative in [asset.relativePath] + thumbnails.compactMap({ $0 }) {
            do {
                let path = try layout.absolute(relative)
                switch Syscall.nothingOrErrno(retryOnInterrupt: false, { unlink(path) }) {
                case .success, .failure(.noSuchFileOrDirectory): break
                case .failure(let error): stayed.append("\(relative) (\(error))")
                }
            } catch {
                stayed.append("\(relative) (\(error))")
            }
        }
        let processed = ProcessedStore(layout: layout)
        do {
            try processed.removeFolder(for: asset)
        } catch {
            // Named by its place under the storage root, like the others: never by an absolute path.
            let why = (error as? StorageError)?.errno.map { String(cString: strerror($0)) } ?? "\(error)"
            stayed.append("\((try? processed.folderRelative(for: asset)) ?? "its processed files") (\(why))")
        }
        guard stayed.isEmpty else {
            throw StorageError(
                code: .io,
                message: "asset \(asset.id) is deleted from the catalog, but these files could not be removed: "
                    + stayed.joined(separator: ", ")
            )
        }
    }
}
