/// An error from StorageKit's file and catalog operations, with a message that names paths and ids.
public struct StorageError: Error, CustomStringConvertible, Sendable, Equatable {
    /// A stable classification callers (such as the HTTP layer) can map to a status.
    public enum Code: String, Sendable {
        case unsafeName, outsideStorage, notFound, conflict, io, catalog, invalidArgument
        /// The catalog's server cannot be reached (PostgreSQL down or the network gone): worth retrying.
        case catalogUnavailable
    }

    public let code: Code
    public let message: String
    /// The errno behind an I/O failure, when there is one.
    public let errno: Int32?

    public init(code: Code, message: String, errno: Int32? = nil) {
        self.code = code
        self.message = message
        self.errno = errno
    }

    public var description: String { message }

    static func unsafeName(_ name: String) -> StorageError {
        StorageError(code: .unsafeName, message: "unsafe file name \(String(reflecting: name))")
    }

    static func outsideStorage(_ path: String) -> StorageError {
        StorageError(code: .outsideStorage, message: "path \(String(reflecting: path)) would leave STORAGE_PATH")
    }

    /// A failed syscall: `operation` on `path` with `errno`'s text.
    public static func syscall(_ operation: String, path: String, errno e: Int32) -> StorageError {
        StorageError(code: .io, message: "\(operation) \(path): \(String(cString: strerror(e)))", errno: e)
    }
}

#if canImport(Glibc)
import Glibc
#endif
