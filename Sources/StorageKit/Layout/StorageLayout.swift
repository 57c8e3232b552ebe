import Foundation

/// Builds every path below `STORAGE_PATH`. Each path it hands out is made of a fixed category
/// name, a sanitized `project_<id>` and a single sanitized file name, so it cannot leave the root.
public struct StorageLayout: Sendable, Equatable {
    /// Absolute, normalized storage root (no trailing slash).
    public let root: String

    /// `root` may be relative; it is made absolute against the current directory and normalized.
    public init(root: String) {
        self.root = StorageLayout.normalize(root)
    }

    /// `STORAGE_PATH/<category>`.
    public func categoryPath(_ category: StorageCategory) -> String { root + "/" + category.rawValue }

    /// `STORAGE_PATH/<category>/project_<id>`.
    public func projectPath(_ category: StorageCategory, _ project: ProjectID) -> String {
        categoryPath(category) + "/" + project.folderName
    }

    /// `<category>/project_<id>/<name>` relative to the root; `name` must be one safe path component.
    public func relativePath(_ category: StorageCategory, _ project: ProjectID, _ name: String) throws -> String {
        guard StorageLayout.isSafeComponent(name) else { throw StorageError.unsafeName(name) }
        return category.rawValue + "/" + project.folderName + "/" + name
    }

    /// Absolute path of a relative path this layout handed out; refuses anything that would leave the root.
    public func absolute(_ relative: String) throws -> String {
        let parts = relative.split(separator: "/", omittingEmptySubsequences: false)
        guard !relative.hasPrefix("/"), !parts.isEmpty,
            parts.allSatisfy({ StorageLayout.isSafeComponent(String($0)) })
        else { throw StorageError.outsideStorage(relative) }
        return root + "/" + relative
    }

    /// `STORAGE_PATH/metadata/catalog.sqlite`.
    public var catalogPath: String { categoryPath(.metadata) + "/catalog.sqlite" }

    /// `STORAGE_PATH/.staging`: same filesystem as `uploads/`, where a file is hashed before it is placed.
    public var stagingPath: String { root + "/.staging" }

    /// `STORAGE_PATH/.staging/node-<id>`: the staging folder of node `nodeID` alone (its staged drops, uploads
    /// streaming in, temporary files of atomic writes). A node's start-up recovers only its own folder, so
    /// several nodes sharing `STORAGE_PATH` never take each other's files in flight. Characters outside
    /// `[A-Za-z0-9._-]` (which `NODE_ID` never holds) are written `_`.
    public func nodeStagingPath(_ nodeID: String) -> String {
        stagingPath + "/" + Self.nodeStagingPrefix + Self.nodeComponent(nodeID)
    }

    /// The name prefix of the per-node folders in `.staging`.
    public static let nodeStagingPrefix = "node-"

    /// `nodeID` as part of a single path component.
    static func nodeComponent(_ nodeID: String) -> String {
        String(
            String.UnicodeScalarView(
                nodeID.unicodeScalars.map { c in
                    ("a"..."z").contains(c) || ("A"..."Z").contains(c) || ("0"..."9").contains(c) || c == "-"
                        || c == "_" || c == "." ? c : "_"
                }
            )
        )
    }

    /// `STORAGE_PATH/.locks`: the lock files that keep two daemons off one storage (SQLite) or one `NODE_ID`.
    public var locksPath: String { root + "/.locks" }

    /// Creates the root and every category folder (mode 0755).
    public func createCategoryFolders() throws {
        for folder in StorageCategory.allCases.map(categoryPath) + [stagingPath] {
            try FileOps.makeDirectories(folder)
        }
    }

    /// A single path component that cannot climb or hide: non-empty, not `.`/`..`, no `/` or NUL.
    public static func isSafeComponent(_ name: String) -> Bool { isSafeComponent(Array(name.utf8)) }

    /// ``isSafeComponent(_:)-(String)`` on a name's bytes, which need not be UTF-8.
    public static func isSafeComponent(_ name: [UInt8]) -> Bool {
        !name.isEmpty && name != [0x2E] && name != [0x2E, 0x2E] && !name.contains(0x2F) && !name.contains(0)
            && name.count <= 255
    }

    /// Absolute, `.`/`..`-free form of `path` (lexical; symlinks are not resolved).
    public static func normalize(_ path: String) -> String {
        var base = path
        if !path.hasPrefix("/") {
            base = FileManager.default.currentDirectoryPath + "/" + path
        }
        var out: [Substring] = []
        for part in base.split(separator: "/") {
            if part == "." { continue }
            if part == ".." {
                _ = out.popLast()
                continue
            }
            out.append(part)
        }
        return "/" + out.joined(separator: "/")
    }
}
