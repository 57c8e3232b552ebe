import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// Walks a folder tree with directory file descriptors (`openat` + `fdopendir` + `readdir`,
/// `fstatat(AT_SYMLINK_NOFOLLOW)`), never following a symlink, and reports its regular files.
/// Symlinks, FIFOs, sockets and devices are skipped; folders are descended into.
///
/// Entries that vanish during the walk are skipped (storage is live). A starting folder that
/// does not exist or is not a folder counts as empty. The starting path itself is resolved as
/// given; below it (including the `components` of `totals(in:below:)`) no link is followed.
public enum DiskWalker {
    /// A regular file found below the starting folder.
    public struct File: Sendable, Equatable {
        /// Path relative to the starting folder, `/`-separated; bytes that are not UTF-8 are
        /// shown as U+FFFD.
        public var relativePath: String
        /// `st_size` from `lstat`.
        public var size: Int64

        public init(relativePath: String, size: Int64) {
            self.relativePath = relativePath
            self.size = size
        }
    }

    /// Count and bytes of the regular files below a folder.
    public struct Totals: Sendable, Equatable {
        public var bytes: Int64
        public var fileCount: Int

        public init(bytes: Int64 = 0, fileCount: Int = 0) {
            self.bytes = bytes
            self.fileCount = fileCount
        }
    }

    /// Bytes and count of every regular file below `path` (no per-file strings are built).
    public static func totals(below path: String) throws -> Totals {
        try totals(in: path, below: [])
    }

    /// Bytes and count of every regular file below `root/components…`, where each component must
    /// be a real folder: a symlinked `uploads` or `project_<id>` counts as empty, not as its target.
    public static func totals(in root: String, below components: [String]) throws -> Totals {
        var totals = Totals()
        try walk(root, components, wantNames: false) { _, _, size in
            totals.bytes += size
            totals.fileCount += 1
        }
        return totals
    }

    /// Calls `visit` for every regular file below `path`, in directory order.
    public static func forEachFile(below path: String, _ visit: (File) throws -> Void) throws {
        try forEachFile(in: path, below: [], visit)
    }

    /// Calls `visit` for every regular file below `root/components…` (each component a real
    /// folder, as for `totals(in:below:)`); relative paths start below the last component.
    public static func forEachFile(in root: String, below components: [String], _ visit: (File) throws -> Void) throws {
        try walk(root, components, wantNames: true) { parent, name, size in
            let leaf = String(cString: name)
            try visit(File(relativePath: parent.isEmpty ? leaf : parent + "/" + leaf, size: size))
        }
    }

    /// Every regular file below `path`, sorted by relative path.
    public static func files(below path: String) throws -> [File] {
        var out: [File] = []
        try forEachFile(below: path) { out.append($0) }
        return out.sorted { $0.relativePath < $1.relativePath }
    }

    /// The walk itself. `visit` gets the parent's relative path, the file's name (valid only
    /// during the call) and its size.
    static func walk(
        _ root: String,
        _ components: [String],
        wantNames: Bool,
        _ visit: (String, UnsafePointer<CChar>, Int64) throws -> Void
    ) throws {
        guard let fd = try openFolder(root, components) else { return }
        let path = ([root] + components).joined(separator: "/")
        try walkDirectory(fd, root: path, relative: "", visit)
    }

    /// Opens `root` (which may be a symlink: it is the operator's chosen path, such as a
    /// `STORAGE_PATH` pointing at another disk), then each of `components` below it with
    /// `O_NOFOLLOW`. `nil` when a step is missing, not a folder, or a symlink.
    static func openFolder(_ root: String, _ components: [String]) throws -> Int32? {
        let opened = Syscall.valueOrErrno { open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
            .mapError { FolderWalk.Failure(component: "", error: $0) }
            .flatMap { FolderWalk.descend(from: $0, through: components.map { Array($0.utf8) }, flags: O_RDONLY) }
        switch opened {
        case .success(let fd):
            return fd
        case .failure(let failure)
        where [.noSuchFileOrDirectory, .notDirectory, .tooManySymbolicLinkLevels].contains(failure.error):
            return nil
        case .failure(let failure):
            throw StorageError.syscall("open", path: ([root] + components).joined(separator: "/"), failure.error)
        }
    }

    /// Reads the directory open on `fd` (taking ownership of it) and recurses into sub-folders.
    private static func walkDirectory(
        _ fd: Int32,
        root: String,
        relative: String,
        _ visit: (String, UnsafePointer<CChar>, Int64) throws -> Void
    ) throws {
        let directory = try DirectoryStream(taking: fd, path: joined(root, relative))
        let dfd = directory.descriptor
        var info = stat()
        while let entry = try directory.next() {
            let name = entry.name
            var type = entry.type
            if type == UInt8(DT_UNKNOWN) || type == UInt8(DT_REG) {
                // lstat semantics: a symlink is reported as a link, never as its target.
                switch Syscall.nothingOrErrno({ fstatat(dfd, name, &info, AT_SYMLINK_NOFOLLOW) }) {
                case .success: break
                case .failure(.noSuchFileOrDirectory): continue
                case .failure(let error):
                    throw StorageError.syscall("fstatat", path: joined(root, relative, name), error)
                }
                switch info.st_mode & S_IFMT {
                case S_IFREG:
                    try visit(relative, name, Int64(info.st_size))
                    continue
                case S_IFDIR: type = UInt8(DT_DIR)
                default: continue
                }
            }
            guard type == UInt8(DT_DIR) else { continue }
            // O_NOFOLLOW: if the folder was swapped for a symlink since readdir, open fails (ELOOP).
            let child: Int32
            switch Syscall.valueOrErrno({ openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }) {
            case .success(let opened): child = opened
            case .failure(.noSuchFileOrDirectory), .failure(.notDirectory), .failure(.tooManySymbolicLinkLevels):
                continue
            case .failure(let error): throw StorageError.syscall("openat", path: joined(root, relative, name), error)
            }
            let leaf = String(cString: name)
            try walkDirectory(child, root: root, relative: relative.isEmpty ? leaf : relative + "/" + leaf, visit)
        }
    }

    static func joined(_ root: String, _ relative: String, _ name: UnsafePointer<CChar>? = nil) -> String {
        var path = relative.isEmpty ? root : root + "/" + relative
        if let name { path += "/" + String(cString: name) }
        return path
    }
}
