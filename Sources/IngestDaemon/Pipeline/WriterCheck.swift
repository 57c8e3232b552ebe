import CIngestLinux
import Foundation
import StorageKit
import SystemPackage

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
        let fd: Int32
        switch Syscall.valueOrErrno({ path.withCString { open($0, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC) } }) {
        case .success(let opened): fd = opened
        case .failure(.noSuchFileOrDirectory): return .none
        // Another process holds a write lease (Samba's kernel oplocks): it is writing.
        case .failure(.wouldBlock): return .writing
        case .failure: return .unknown(unreadable: 0)
        }
        defer { close(fd) }
        switch Syscall.nothingOrErrno({ CIngestLinux_setLease(fd, CIngestLinux_F_RDLCK) }) {
        case .success:
            _ = CIngestLinux_setLease(fd, CIngestLinux_F_UNLCK)
            return .none
        case .failure(.resourceTemporarilyUnavailable), .failure(.resourceBusy): return .writing
        case .failure: break
        }
        let scan = procScan(device: status.device, inode: status.inode)
        // Under `ProtectProc=invisible` (hidepid) other users' processes are not even listed: not seeing a
        // writer there proves nothing.
        if scan == .none, procHidesProcesses { return .unknown(unreadable: 0) }
        return scan
    }

    /// Whether `/proc` is mounted so that other users' processes are hidden (`hidepid=1|2|invisible|noaccess`
    /// or `subset=pid`), read once from this process's mount table.
    static let procHidesProcesses: Bool = {
        guard let table = try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8) else { return true }
        return procHides(mountinfo: table)
    }()

    /// The decision of `procHidesProcesses` for a mount table's text.
    static func procHides(mountinfo: String) -> Bool {
        for line in mountinfo.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count > 4, fields[4] == "/proc", let dash = fields.firstIndex(of: "-"),
                fields.index(after: dash) < fields.endIndex
            else { continue }
            let options = fields[(dash + 1)...].dropFirst(2).joined(separator: ",").split(separator: ",")
            for option in options {
                if option.hasPrefix("hidepid="), !["hidepid=0", "hidepid=off"].contains(option) { return true }
                if option.hasPrefix("subset=") { return true }
            }
            return false
        }
        return false
    }

    /// Looks through every process's descriptors under `procRoot` for one open for writing on (device, inode).
    /// A process that exited meanwhile is skipped; one whose descriptors cannot be read makes the answer
    /// `unknown` unless a writer is found elsewhere.
    static func procScan(device: UInt64, inode: UInt64, procRoot: String = "/proc") -> Verdict {
        var unreadable = 0
        guard let processes = names(in: procRoot, unreadable: &unreadable) else { return .unknown(unreadable: 1) }
        let me = procRoot == "/proc" ? getpid() : -1
        for pid in processes.compactMap({ Int32($0) }) where pid != me {
            let fdDir = "\(procRoot)/\(pid)/fd"
            guard let descriptors = names(in: fdDir, unreadable: &unreadable) else { continue }
            for fdName in descriptors where Int(fdName) != nil {
                var s = stat()
                guard stat(fdDir + "/" + fdName, &s) == 0, UInt64(s.st_ino) == inode, UInt64(s.st_dev) == device else {
                    continue
                }
                if isOpenForWriting(fdinfo: "\(procRoot)/\(pid)/fdinfo/\(fdName)") { return .writing }
            }
        }
        return unreadable == 0 ? .none : .unknown(unreadable: unreadable)
    }

    /// The names in the folder at `path` as far as it could be read; nil when it could not be opened. A folder
    /// that vanished (its process exited) is no writer; any other failure counts in `unreadable`, since what
    /// could not be read may hold one.
    private static func names(in path: String, unreadable: inout Int) -> [String]? {
        func count(_ error: Errno) {
            if error != .noSuchFileOrDirectory && error != .noSuchProcess { unreadable += 1 }
        }
        let folder: DirectoryStream
        do {
            folder = try DirectoryStream(opening: path)
        } catch {
            count(error)
            return nil
        }
        var names: [String] = []
        do {
            while let entry = try folder.next() { names.append(entry.nameText) }
        } catch {
            count(Errno(rawValue: error.errno ?? EIO))
        }
        return names
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
