import CIngestLinux
import Foundation
import StorageKit

/// Answers "does any process have this file open for writing?" for real, because Samba and slow rsync keep
/// files open and idle longer than any timer.
///
/// First choice: a read lease (`fcntl F_SETLEASE F_RDLCK`), which the kernel refuses with `EAGAIN` while any
/// process holds the file open for writing; it is released at once. Where leases are unavailable (not the
/// owner without `CAP_LEASE`, or a filesystem without leases) it scans `/proc/*/fd` for a writable descriptor
/// on the same inode.
enum WriterCheck {
    /// `true` when a writer holds the file open; `false` when none does or the file is gone.
    static func hasWriters(_ path: RawPath, status: FileStatus) -> Bool {
        let fd = path.withCString { open($0, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC) }
        guard fd >= 0 else { return false }
        defer { close(fd) }
        if CIngestLinux_setLease(fd, CIngestLinux_F_RDLCK) == 0 {
            _ = CIngestLinux_setLease(fd, CIngestLinux_F_UNLCK)
            return false
        }
        if errno == EAGAIN || errno == EBUSY { return true }
        return procScanFindsWriter(device: status.device, inode: status.inode)
    }

    /// Looks through every process's descriptors for one open for writing on (device, inode).
    static func procScanFindsWriter(device: UInt64, inode: UInt64) -> Bool {
        guard let proc = opendir("/proc") else { return false }
        defer { closedir(proc) }
        let me = getpid()
        while let entry = readdir(proc) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) {
                String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            guard let pid = Int32(name), pid != me else { continue }
            let fdDir = "/proc/\(pid)/fd"
            guard let fds = opendir(fdDir) else { continue }
            defer { closedir(fds) }
            while let fdEntry = readdir(fds) {
                let fdName = withUnsafeBytes(of: fdEntry.pointee.d_name) {
                    String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self)
                }
                guard Int(fdName) != nil else { continue }
                var s = stat()
                guard stat(fdDir + "/" + fdName, &s) == 0, UInt64(s.st_ino) == inode, UInt64(s.st_dev) == device else {
                    continue
                }
                if isOpenForWriting(fdinfo: "/proc/\(pid)/fdinfo/\(fdName)") { return true }
            }
        }
        return false
    }

    /// Reads the octal `flags:` line of an fdinfo file: O_WRONLY or O_RDWR means a writer.
    private static func isOpenForWriting(fdinfo path: String) -> Bool {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return false }
        for line in text.split(separator: "\n") where line.hasPrefix("flags:") {
            let value = line.dropFirst(6).trimmingCharacters(in: .whitespaces)
            guard let flags = Int32(value, radix: 8) else { return false }
            return flags & O_ACCMODE != O_RDONLY
        }
        return false
    }
}
