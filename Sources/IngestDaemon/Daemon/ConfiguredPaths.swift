import Glibc
import IngestConfig
import StorageKit

/// Checks the configured folders against each other and the disk before anything is made: what a restart cannot
/// mend is a configuration error (exit 78), not a start-up failure systemd would retry forever.
///
/// Paths are compared as the kernel resolves them (symlinks followed), so a drop reached through a link into
/// storage, or a storage reached through a link inside the drop, is caught: the daemon would otherwise take its
/// own files (its socket, reason files, stored uploads) as new drops, in a loop.
struct ConfiguredPaths {
    /// Where a key's value came from, as the loader's messages say it (`environment`, `command line`, a file).
    let origin: (ConfigKey) -> String

    /// Throws a ``ConfigurationError`` naming the key when the drop and the storage overlap, when the control
    /// socket would sit inside the drop, when one of the folders is something other than a folder, or when the
    /// drop exists but this user cannot read it.
    func check(_ configuration: IngestConfiguration) throws {
        let storage = Self.resolved(configuration.storagePath)
        let drop = Self.resolved(configuration.dropPath)
        for (key, value, path) in [
            (ConfigKey.storagePath, configuration.storagePath, storage),
            (ConfigKey.dropPath, configuration.dropPath, drop),
        ] {
            var status = stat()
            if stat(path, &status) == 0, status.st_mode & S_IFMT != S_IFDIR {
                throw error(key, value, "expected a folder; \(path) is not one")
            }
        }
        if Self.contains(drop, storage) || Self.contains(storage, drop) {
            let linked =
                drop != StorageLayout.normalize(configuration.dropPath)
                || storage != StorageLayout.normalize(configuration.storagePath)
            let through = linked ? " (through a symlink)" : ""
            throw error(
                .dropPath,
                configuration.dropPath,
                "a folder separate from STORAGE_PATH=\(configuration.storagePath); they overlap\(through), and the "
                    + "daemon would take its own files for new drops"
            )
        }
        let socket = Self.resolved(configuration.controlSocketPath)
        if Self.contains(drop, socket) {
            throw error(
                .controlSocket,
                configuration.controlSocketPath,
                "a path outside DROP_PATH=\(configuration.dropPath): a socket there would be taken for a dropped file"
            )
        }
        if access(drop, F_OK) == 0, access(drop, R_OK | X_OK) != 0 {
            throw error(
                .dropPath,
                configuration.dropPath,
                "a folder the daemon's user (uid \(geteuid())) can read; it cannot list this one"
            )
        }
    }

    private func error(_ key: ConfigKey, _ value: String, _ allowed: String) -> ConfigurationError {
        ConfigurationError(key: key.rawValue, value: value, allowed: allowed, origin: origin(key))
    }

    /// Whether `inner` is `outer` or lies below it (both absolute and normalized).
    static func contains(_ outer: String, _ inner: String) -> Bool {
        inner == outer || inner.hasPrefix(outer == "/" ? "/" : outer + "/")
    }

    /// `path` made absolute, with the symlinks of its longest existing part resolved and the rest appended:
    /// the folder the kernel will use once the missing part is made.
    static func resolved(_ path: String) -> String {
        var existing = StorageLayout.normalize(path)
        var missing: [String] = []
        while true {
            if let real = realpath(existing, nil) {
                defer { free(real) }
                let base = String(cString: real)
                return StorageLayout.normalize(([base] + missing.reversed()).joined(separator: "/"))
            }
            guard existing != "/" else { return StorageLayout.normalize(path) }
            missing.append(FileOps.lastComponent(existing))
            let parent = existing.split(separator: "/").dropLast().joined(separator: "/")
            existing = "/" + parent
        }
    }
}
