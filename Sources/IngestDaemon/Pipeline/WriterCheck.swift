import CIngestLinux
import Foundation
import StorageKit

/// Answers "does any process have this file open for writing?" for real, because Samba and slow rsync keep
/// files open and idle longer than any timer.
///
/// First choice: a read lease (`fcntl F_SETLEASE F_RDLCK`), which the kernel refuses with `EAGAIN` while any
/// process holds the file open for writing; it is released at once. Where leases are unavailable (not the
/// owner without `CAP_LEASE`, or a filesystem without leases) it scans `/proc/*/fd` for a writable descriptor
/// on the same inode. That scan cannot see into other users' processes without `CAP_SYS_PTRACE`: then the
/// answer is `unknown`, never a made-up "no writer", and settling relies on `SETTLE_MS` alone.
enum WriterCheck {
    /// What the check could tell.
    enum Verdict: Equatable, Sendable {
        /// No process holds the file open for writing (or the file is gone).
        case none
        /// A process holds it open for writing.
        case writing
        /// No lease could be taken and some processes' descriptors could not be read (`unreadable` of them).
        case unknown(unreadable: Int)
    }

    /// Whether a writer holds the file at `path` (whose `lstat` was `status`) open.
    static func check(_ path: RawPath, status: FileStatus) -> Verdict {
        let fd = path.withCString { open($0, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC) }
        guard fd >= 0 else { return .none }
        defer { close(fd) }
        if CIngestLinux_setLease(fd, CIngestLinux_F_RDLCK) == 0 {
            _ = CIngestLinux_setLease(fd, CIngestLinux_F_UNLCK)
            return .none
        }
        if errno == EAGAIN || errno == EBUSY { return .writing }
        return procScan(device: status.device, inode: status.inode)
    }

    /// Looks through every process's descriptors under `procRoot` for one open for writing on (device, inode).
    /// A process that exited meanwhile is skipped; one whose descriptors cannot be read makes the answer
    /// `unknown` unless a writer is found elsewhere.
    static func procScan(device: UInt64, inode: UInt64, procRoot: String = "/proc") -> Verdict {
        guard let proc = opendir(procRoot) else { return .unknown(unreadable: 1) }
        defer { closedir(proc) }
        let me = procRoot == "/proc" ? getpid() : -1
        var unreadable = 0
        while let entry = readdir(proc) {
            guard let pid = Int32(entryName(entry)), pid != me else { continue }
            let fdDir = "\(procRoot)/\(pid)/fd"
            guard let fds = opendir(fdDir) else {
                if errno != ENOENT && errno != ESRCH { unreadable += 1 }
                continue
            }
            defer { closedir(fds) }
            while let fdEntry = readdir(fds) {
                let fdName = entryName(fdEntry)
                guard Int(fdName) != nil else { continue }
                var s = stat()
                guard stat(fdDir + "/" + fdName, &s) == 0, UInt64(s.st_ino) == inode, UInt64(s.st_dev) == device else {
                    continue
                }
                if isOpenForWriting(fdinfo: "\(procRoot)/\(pid)/fdinfo/\(fdName)") { return .writing }
            }
        }
        return unreadable == 0 ? .none : .unknown(unreadable: unreadable)
    }

    private static func entryName(_ entry: UnsafeMutablePointer<dirent>) -> String {
        withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
    }

    /// Reads the octal `flags:` line of an fdinfo file: O_WRONLY or O_RDWR means a writer. An fdinfo that
    /// cannot be read (the descriptor closed meanwhile) is no writer.
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
