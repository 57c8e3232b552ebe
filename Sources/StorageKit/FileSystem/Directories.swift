#if canImport(Glibc)
import Glibc
#endif

/// Directory creation with errors that name the exact component that failed.
enum Directories {
    /// Creates `path` and any missing parents (mode 0755), like `mkdir -p`. An existing directory is
    /// fine; an existing non-directory anywhere on the way throws with that component's path.
    static func create(_ path: String) throws {
        var prefix = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            prefix += "/" + component
            // mkdir first and look only on EEXIST: one syscall per existing level in the common case.
            if mkdir(prefix, 0o755) == 0 { continue }
            let e = errno
            guard e == EEXIST else { throw StorageError.syscall("mkdir", path: prefix, errno: e) }
            var info = stat()
            // stat (following links): a symlink to a directory is an acceptable parent, as for mkdir -p.
            guard stat(prefix, &info) == 0 else { throw StorageError.syscall("stat", path: prefix, errno: errno) }
            guard info.st_mode & S_IFMT == S_IFDIR else {
                throw StorageError.syscall("mkdir", path: prefix, errno: ENOTDIR)
            }
        }
    }
}
