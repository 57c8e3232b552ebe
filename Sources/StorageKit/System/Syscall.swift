import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// How ingestd calls the C library, as swift-system does inside its own wrappers: a call that answers `-1`
/// and sets `errno` becomes a failure carrying swift-system's `Errno`, and a call cut short by a signal
/// (`EINTR`) is made again. `close(2)` is never passed here: on Linux it must not be retried.
public enum Syscall {
    /// The call's value, or the `Errno` it failed with.
    public static func valueOrErrno<Value: FixedWidthInteger>(
        retryOnInterrupt: Bool = true,
        _ call: () -> Value
    ) -> Result<Value, Errno> {
        while true {
            let value = call()
            if value != -1 { return .success(value) }
            let error = Errno(rawValue: errno)
            if retryOnInterrupt, error == .interrupted { continue }
            return .failure(error)
        }
    }

    /// Nothing, or the `Errno` the call failed with: for calls whose answer is only success or failure.
    public static func nothingOrErrno<Value: FixedWidthInteger>(
        retryOnInterrupt: Bool = true,
        _ call: () -> Value
    ) -> Result<Void, Errno> {
        valueOrErrno(retryOnInterrupt: retryOnInterrupt, call).map { _ in () }
    }
}

extension StorageError {
    /// A failed syscall: `operation` on `path`, with the text of `error`.
    public static func syscall(_ operation: String, path: String, _ error: Errno) -> StorageError {
        .syscall(operation, path: path, errno: error.rawValue)
    }
}

extension Result where Failure == Errno {
    /// The value, or a ``StorageError`` naming `operation` and `path`.
    public func orThrow(_ operation: String, path: @autoclosure () -> String) throws(StorageError) -> Success {
        switch self {
        case .success(let value): return value
        case .failure(let error): throw .syscall(operation, path: path(), error)
        }
    }
}
