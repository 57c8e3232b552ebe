import CIngestLinux
import NIOCore
import StorageKit

#if canImport(Glibc)
import Glibc
#endif

/// The process at the other end of a Unix-socket connection, from `SO_PEERCRED`.
struct PeerCredentials: Sendable, Equatable {
    var pid: Int32
    var uid: UInt32
    var gid: UInt32

    /// Reads `SO_PEERCRED` of an accepted Unix-socket `channel` (must be called on its event loop).
    static func read(from channel: any Channel) -> EventLoopFuture<PeerCredentials> {
        guard let provider = channel as? any SocketOptionProvider else {
            return channel.eventLoop.makeFailedFuture(
                ControlServerError("the accepted channel offers no socket options, cannot read SO_PEERCRED")
            )
        }
        let future: EventLoopFuture<CIngestLinux_ucred> = provider.unsafeGetSocketOption(
            level: .socket,
            name: .init(rawValue: SO_PEERCRED)
        )
        return future.map { PeerCredentials(pid: $0.pid, uid: $0.uid, gid: $0.gid) }
    }
}

/// Who may talk to the control socket: root, the daemon's own effective uid, and members (primary or
/// supplementary) of `CONTROL_SOCKET_GROUP`.
struct ControlAccessPolicy: Sendable {
    /// The daemon's effective uid.
    var ownUID: UInt32
    /// `CONTROL_SOCKET_GROUP` resolved to a gid, when set.
    var groupID: UInt32?

    init(ownUID: UInt32 = geteuid(), groupID: UInt32?) {
        self.ownUID = ownUID
        self.groupID = groupID
    }

    /// Whether `peer` may use the socket. Supplementary groups come from `/proc/<pid>/status`, or from
    /// `getgrouplist` of the peer's user name when that file cannot be read.
    func allows(_ peer: PeerCredentials) -> Bool {
        if peer.uid == 0 || peer.uid == ownUID { return true }
        guard let groupID else { return false }
        if peer.gid == groupID { return true }
        if let groups = Self.supplementaryGroups(pid: peer.pid) { return groups.contains(groupID) }
        return Self.groupList(uid: peer.uid, primary: peer.gid).contains(groupID)
    }

    /// The `Groups:` line of `/proc/<pid>/status`; `nil` when it cannot be read.
    static func supplementaryGroups(pid: Int32) -> [UInt32]? {
        guard pid > 0 else { return nil }
        let fd = open("/proc/\(pid)/status", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while bytes.count < 1 << 16 {
            guard
                case .success(let n) = Syscall.valueOrErrno({
                    chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
                })
            else { return nil }
            if n == 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
        }
        let text = String(decoding: bytes, as: UTF8.self)
        for line in text.split(separator: "\n") where line.hasPrefix("Groups:") {
            return line.dropFirst("Groups:".count).split(whereSeparator: { $0 == " " || $0 == "\t" }).compactMap {
                UInt32($0)
            }
        }
        return nil
    }

    /// `getgrouplist` for the user name of `uid` (empty when the uid has no passwd entry).
    static func groupList(uid: UInt32, primary: UInt32) -> [UInt32] {
        var pwd = passwd()
        var result: UnsafeMutablePointer<passwd>? = nil
        var buffer = [CChar](repeating: 0, count: 16384)
        guard getpwuid_r(uid, &pwd, &buffer, buffer.count, &result) == 0, result != nil, let name = pwd.pw_name else {
            return []
        }
        var count: Int32 = 64
        var groups = [gid_t](repeating: 0, count: Int(count))
        if getgrouplist(name, primary, &groups, &count) == -1 {
            groups = [gid_t](repeating: 0, count: Int(count))
            guard getgrouplist(name, primary, &groups, &count) != -1 else { return [] }
        }
        return Array(groups.prefix(Int(count)))
    }

    /// Resolves `CONTROL_SOCKET_GROUP`: a numeric gid as given, or a group name looked up with `getgrnam_r`.
    static func resolveGroup(_ spec: String?) throws(ControlServerError) -> UInt32? {
        guard let spec, !spec.isEmpty else { return nil }
        if spec.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) {
            guard let gid = UInt32(spec) else {
                throw ControlServerError("CONTROL_SOCKET_GROUP=\(spec): not a valid numeric gid")
            }
            return gid
        }
        var grp = group()
        var result: UnsafeMutablePointer<group>? = nil
        var buffer = [CChar](repeating: 0, count: 65536)
        let rc = getgrnam_r(spec, &grp, &buffer, buffer.count, &result)
        guard rc == 0, result != nil else {
            let why = rc == 0 ? "no such group" : String(cString: strerror(rc))
            throw ControlServerError("CONTROL_SOCKET_GROUP=\(spec): unknown group (\(why))")
        }
        return grp.gr_gid
    }
}
