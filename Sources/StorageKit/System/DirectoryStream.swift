import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// A folder read entry by entry (`fdopendir(3)`/`opendir(3)`, `readdir(3)`), closed when the value goes away.
/// `.` and `..` are skipped; a failed read is an error, never taken for the end of the folder.
public struct DirectoryStream: ~Copyable {
    private let directory: OpaquePointer
    /// The folder's path, for messages.
    public let path: String

    /// Reads the folder open on `descriptor`, taking ownership of it: it is closed with the stream, or at once
    /// when `fdopendir` fails.
    public init(taking descriptor: Int32, path: String) throws(StorageError) {
        guard let directory = fdopendir(descriptor) else {
            let error = Errno(rawValue: errno)
            close(descriptor)
            throw .syscall("fdopendir", path: path, error)
        }
        self.directory = directory
        self.path = path
    }

    /// Opens the folder at `path`, following symbolic links (for roots the system or the operator chose, such
    /// as `/proc`); the failure's `Errno` tells a folder that vanished from one that cannot be read.
    public init(opening path: String) throws(Errno) {
        guard let directory = opendir(path) else { throw Errno(rawValue: errno) }
        self.directory = directory
        self.path = path
    }

    /// The descriptor of the folder, for the `*at` calls on its entries; valid as long as the stream.
    public var descriptor: Int32 { dirfd(directory) }

    /// The next entry other than `.` and `..`, nil at the end. The entry is valid until the next call.
    public func next() throws(StorageError) -> Entry? {
        while true {
            // readdir answers NULL both at the end and on an error; only errno tells them apart.
            errno = 0
            guard let raw = readdir(directory) else {
                let code = errno
                if code == 0 { return nil }
                throw .syscall("readdir", path: path, Errno(rawValue: code))
            }
            let entry = Entry(raw)
            if !entry.isDotOrDotDot { return entry }
        }
    }

    deinit { closedir(directory) }

    /// One entry as `readdir` read it.
    public struct Entry {
        private let raw: UnsafeMutablePointer<dirent>

        init(_ raw: UnsafeMutablePointer<dirent>) { self.raw = raw }

        /// `d_name` as a C string, without copying the 256-byte tuple; valid until the stream's next read.
        public var name: UnsafePointer<CChar> {
            let offset = MemoryLayout<dirent>.offset(of: \dirent.d_name)!
            return UnsafeRawPointer(raw).advanced(by: offset).assumingMemoryBound(to: CChar.self)
        }

        /// The name's bytes, as the file system holds them (not necessarily UTF-8).
        public var nameBytes: [UInt8] { Array(UnsafeRawBufferPointer(start: name, count: strlen(name))) }

        /// The name as text (bytes that are not UTF-8 replaced): for names the system makes, such as `/proc`'s.
        public var nameText: String { String(cString: name) }

        /// `d_type`: `DT_REG`, `DT_DIR`, …, or `DT_UNKNOWN` when the file system does not say.
        public var type: UInt8 { raw.pointee.d_type }

        var isDotOrDotDot: Bool {
            let name = self.name
            return name[0] == 0x2E && (name[1] == 0 || (name[1] == 0x2E && name[2] == 0))
        }
    }
}
