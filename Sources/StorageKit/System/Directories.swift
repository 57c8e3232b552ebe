import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// Directory creation with errors that name the exact component that failed.
enum Directories {
    /// Creates `path` and any missing parents (with `mode` before the umask), like `mkdir -p`. An existing
    /// directory is fine; an existing non-directory anywhere on the way throws with that component's path.
    /// The path is raw bytes: a folder whose name is not UTF-8 is made under its own name, never under a lossy
    /// text form of it.
    static func create(_ path: RawPath, mode: mode_t = 0o755) throws {
        var prefix: [UInt8] = path.bytes.first == 0x2F ? [] : [0x2E]
        for component in path.bytes.split(separator: 0x2F) {
            prefix.append(0x2F)
            prefix.append(contentsOf: component)
            let current = RawPath(prefix)
            // mkdir first and look only on EEXIST: one syscall per existing level in the common case.
            switch Syscall.nothingOrErrno({ current.withCString { mkdir($0, mode) } }) {
            case .success: continue
            case .failure(.fileExists): break
            case .failure(let error): throw StorageError.syscall("mkdir", path: current.description, error)
            }
            var info = stat()
            // stat (following links): a symlink to a directory is an acceptable parent, as for mkdir -p.
            try Syscall.nothingOrErrno { current.withCString { stat($0, &info) } }
                .orThrow("stat", path: current.description)
            guard info.st_mode & S_IFMT == S_IFDIR else {
                throw StorageError.syscall("mkdir", path: current.description, .notDirectory)
            }
        }
    }
}
