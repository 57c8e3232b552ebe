import CIngestLinux
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// One inotify instance (`inotify_init1(IN_NONBLOCK | IN_CLOEXEC)`), closed on deinit: watches added by path,
/// and the events the kernel queued read without waiting and parsed from its byte records. The caller polls
/// ``fileDescriptor`` for `POLLIN` and owns the threading.
public final class Inotify: Sendable {
    /// The descriptor to poll; valid for the instance's life.
    public let fileDescriptor: Int32

    /// What a watch reports and what an event says (`IN_*` bits).
    public struct Mask: OptionSet, Sendable, Hashable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }

        public static let attributesChanged = Mask(rawValue: UInt32(IN_ATTRIB))
        public static let closedAfterWriting = Mask(rawValue: UInt32(IN_CLOSE_WRITE))
        public static let created = Mask(rawValue: UInt32(IN_CREATE))
        public static let movedFrom = Mask(rawValue: UInt32(IN_MOVED_FROM))
        public static let movedTo = Mask(rawValue: UInt32(IN_MOVED_TO))
        public static let watchedFolderDeleted = Mask(rawValue: UInt32(IN_DELETE_SELF))
        /// `IN_MOVE_SELF`: the watched folder itself was renamed (its watch follows it to its new name).
        public static let watchedFolderMoved = Mask(rawValue: UInt32(IN_MOVE_SELF))
        /// `IN_ONLYDIR`: the watch is only added if the path is a folder (not a file that replaced one).
        public static let onlyFolders = Mask(rawValue: 0x0100_0000)
        /// In an event: its name is a folder.
        public static let isFolder = Mask(rawValue: 0x4000_0000)
        /// In an event: the watch is gone (its folder was deleted, moved out of the filesystem, or unwatched).
        public static let watchRemoved = Mask(rawValue: UInt32(IN_IGNORED))
        /// In an event: the kernel's queue overflowed and events were lost.
        public static let queueOverflowed = Mask(rawValue: UInt32(IN_Q_OVERFLOW))
    }

    /// One queued event: the watch it came from, what happened, and the entry's name within the watched folder
    /// (empty for events about the folder itself).
    public struct Event: Sendable, Equatable {
        public let watch: Int32
        public let mask: Mask
        public let name: [UInt8]

        public init(watch: Int32, mask: Mask, name: [UInt8]) {
            self.watch = watch
            self.mask = mask
            self.name = name
        }
    }

    public init() throws(StorageError) {
        fileDescriptor = try Syscall.valueOrErrno { inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC)) }
            .orThrow("inotify_init1", path: "inotify")
    }

    deinit { close(fileDescriptor) }

    /// Watches `path` for `mask`; the watch's number, or why not (`ENOSPC`: `max_user_watches` is reached;
    /// `ENOENT`, `ENOTDIR`: the folder went away or is not one).
    public func addWatch(_ path: RawPath, mask: Mask) -> Result<Int32, Errno> {
        Syscall.valueOrErrno { path.withCString { inotify_add_watch(fileDescriptor, $0, mask.rawValue) } }
    }

    /// Removes watch `watch` (its `watchRemoved` event follows).
    public func removeWatch(_ watch: Int32) {
        _ = inotify_rm_watch(fileDescriptor, watch)
    }

    /// Reads every queued event into `buffer` (at least 64 KiB, so that any event fits) and passes each to
    /// `body`, until nothing is queued; returns at once when nothing is.
    public func readQueued(into buffer: inout [UInt8], _ body: (Event) -> Void) {
        precondition(buffer.count >= Self.minimumBuffer, "an inotify read buffer must hold the largest event")
        while true {
            let read = buffer.withUnsafeMutableBytes { raw in
                Syscall.valueOrErrno { Glibc.read(fileDescriptor, raw.baseAddress, raw.count) }
            }
            guard case .success(let count) = read, count > 0 else { return }
            Self.parse(buffer[..<count], body)
        }
    }

    /// A read buffer that holds any one event: the record plus the longest name (`NAME_MAX`), many times over.
    public static let minimumBuffer = 64 * 1024

    /// The size of `struct inotify_event` before its name.
    static let recordHeader = 16

    /// Parses the records in `bytes`, as read(2) returned them: `wd`, `mask`, `cookie`, `len`, then `len` bytes
    /// of name padded with NULs. A record whose name runs past the end is cut there, and a partial header ends
    /// the parse: lengths are never trusted beyond the bytes at hand.
    static func parse(_ bytes: ArraySlice<UInt8>, _ body: (Event) -> Void) {
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while raw.count - offset >= recordHeader {
                let watch = raw.loadUnaligned(fromByteOffset: offset, as: Int32.self)
                let mask = raw.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self)
                let length = Int(raw.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self))
                let nameStart = offset + recordHeader
                let nameEnd = nameStart + min(length, raw.count - nameStart)
                let name = Array(raw[nameStart..<nameEnd].prefix { $0 != 0 })
                body(Event(watch: watch, mask: Mask(rawValue: mask), name: name))
                offset = nameEnd
            }
        }
    }
}
