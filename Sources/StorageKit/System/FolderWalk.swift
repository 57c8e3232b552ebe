import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// Goes down a path one folder at a time without following a symlink: each component is opened with
/// `openat(…, O_DIRECTORY | O_NOFOLLOW)` relative to the folder before it, so neither a link nor a folder swapped
/// for one on the way can lead outside the folder the walk started in.
public enum FolderWalk {
    /// A component that could not be opened as a folder (a symlink, a file, missing) and why.
    public struct Failure: Error, Equatable {
        public let component: String
        public let error: Errno
    }

    /// Opens each of `components` below the folder `start` with `flags` (plus `O_DIRECTORY | O_NOFOLLOW |
    /// O_CLOEXEC`); the last folder's descriptor, which the caller closes. `start` is always closed (it is the
    /// answer itself when `components` is empty).
    public static func descend(from start: Int32, through components: [[UInt8]], flags: Int32) -> Result<Int32, Failure>
    {
        var folder = start
        for component in components {
            let next = Syscall.valueOrErrno {
                RawPath(component).withCString { openat(folder, $0, flags | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
            }
            close(folder)
            switch next {
            case .success(let opened): folder = opened
            case .failure(let error):
                return .failure(Failure(component: String(decoding: component, as: UTF8.self), error: error))
            }
        }
        return .success(folder)
    }
}
