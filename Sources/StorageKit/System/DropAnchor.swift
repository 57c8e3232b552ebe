import CIngestLinux
import Foundation
import SystemPackage

/// A dropped file's folder, held open and reached from the drop root one component at a time without
/// following a symlink (`openat(O_PATH|O_DIRECTORY|O_NOFOLLOW)` per component). Syscalls then name the file as
/// `/proc/self/fd/<fd>/<name>`: the kernel resolves that through the folder held open, so a folder of the drop
/// swapped for a symlink after the file was noticed cannot send an open, a rename or an unlink outside the drop.
/// The last component keeps its own guards (`lstat`, `O_NOFOLLOW`, rename moves a link as itself).
final class DropAnchor {
    /// The folder's descriptor (`O_PATH`), closed with the anchor.
    let folder: Int32
    /// The file, named through the folder held open.
    let path: RawPath

    private init(folder: Int32, name: [UInt8]) {
        self.folder = folder
        path = RawPath("/proc/self/fd/\(folder)").appending(name)
    }

    deinit { close(folder) }

    /// Why ``open(_:root:)`` could not anchor a path.
    enum Failure: Error, Equatable {
        /// A folder on the way is a symlink, not a folder, or gone.
        case notInsideTheDrop(String)
    }

    /// Anchors `source`, which must lie below `root` (a normalized absolute path); `nil` when it does not (the
    /// path is then used as it is).
    static func open(_ source: RawPath, root: RawPath) throws -> DropAnchor? {
        let prefix = root.bytes.last == 0x2F ? root.bytes : root.bytes + [0x2F]
        guard source.bytes.count > prefix.count, source.bytes.starts(with: prefix) else { return nil }
        let relative = Array(source.bytes[prefix.count...])
        var components = relative.split(separator: 0x2F, omittingEmptySubsequences: true).map(Array.init)
        guard let name = components.popLast(), !components.contains([0x2E, 0x2E]), name != [0x2E, 0x2E] else {
            return nil
        }
        let rootFD = try Syscall.valueOrErrno {
            root.withCString { Glibc.open($0, CIngestLinux_O_PATH | O_DIRECTORY | O_CLOEXEC) }
        }
        .orThrow("open", path: root.description)
        let fd: Int32
        switch FolderWalk.descend(from: rootFD, through: components, flags: CIngestLinux_O_PATH) {
        case .success(let folder): fd = folder
        case .failure(let failure): throw Failure.notInsideTheDrop("\(failure.component): \(failure.error)")
        }
        return DropAnchor(folder: fd, name: name)
    }

    /// The folder `name` right below `root` (made when missing), held open without following a symlink: a
    /// folder swapped for a link to somewhere else fails here instead of receiving what is moved into it.
    /// ``entry(_:)`` names its entries.
    static func folder(_ name: [UInt8], in root: RawPath) throws -> DropAnchor {
        let rootFD = try Syscall.valueOrErrno {
            root.withCString { Glibc.open($0, CIngestLinux_O_PATH | O_DIRECTORY | O_CLOEXEC) }
        }
        .orThrow("open", path: root.description)
        defer { close(rootFD) }
        let shown = root.appending(name).description
        switch Syscall.nothingOrErrno({ RawPath(name).withCString { mkdirat(rootFD, $0, 0o755) } }) {
        case .success, .failure(.fileExists): break
        case .failure(let error): throw StorageError.syscall("mkdir", path: shown, error)
        }
        let fd = try Syscall.valueOrErrno {
            RawPath(name).withCString { openat(rootFD, $0, CIngestLinux_O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
        }
        .orThrow("open (no symlinks followed)", path: shown)
        return DropAnchor(folder: fd, name: [])
    }

    /// `name` inside the folder held open.
    func entry(_ name: [UInt8]) -> RawPath { RawPath("/proc/self/fd/\(folder)").appending(name) }
}
