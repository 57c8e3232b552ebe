import Foundation
import StorageKit
import TestSupport
import Testing

@testable import IngestDaemon

/// "Is anyone still writing this file?": the lease answer, the `/proc` scan, and the scan's honest "unknown"
/// when it cannot read other processes' descriptors.
@Suite(.timeLimit(.minutes(3)))
struct WriterCheckTests {
    private func status(_ path: String) throws -> FileStatus {
        try #require(try FileOps.lstat(path))
    }

    @Test func aFileOpenForWritingHasAWriterAndAClosedOneHasNone() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let path = dir.path + "/a.mp4"
        _ = FileManager.default.createFile(atPath: path, contents: Data("x".utf8))
        let fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC)
        #expect(fd >= 0)
        #expect(WriterCheck.check(RawPath(path), status: try status(path)) == .writing)
        close(fd)
        #expect(WriterCheck.check(RawPath(path), status: try status(path)) == .none)
    }

    /// The scan itself (what runs where leases are refused): another process holding the file open for
    /// writing is found through `/proc/<pid>/fd` and its `fdinfo` flags; once it exits, nobody is.
    @Test func theProcScanFindsAnotherProcessWriting() async throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let path = dir.path + "/a.mp4"
        _ = FileManager.default.createFile(atPath: path, contents: Data("x".utf8))
        let st = try status(path)
        let writer = try ChildProcess("/bin/sh", ["-c", "exec 3>>'\(path)'; exec sleep 30"])
        defer { writer.signal(SIGKILL) }
        var found = WriterCheck.Verdict.none
        for _ in 0..<100 where found != .writing {
            found = WriterCheck.procScan(device: st.device, inode: st.inode)
            if found != .writing { try await Task.sleep(for: .milliseconds(20)) }
        }
        #expect(found == .writing)
        writer.signal(SIGKILL)
        _ = try await writer.wait(timeout: .seconds(10))
        #expect(WriterCheck.procScan(device: st.device, inode: st.inode) == .none)
    }

    /// Issue 10: a process whose descriptors cannot be read (another user's, without CAP_SYS_PTRACE) makes the
    /// answer "unknown", never "no writer". A fake `/proc` stands in, since this test may run as root.
    @Test func unreadableProcessesMakeTheAnswerUnknown() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let proc = dir.path + "/proc"
        try FileManager.default.createDirectory(atPath: proc + "/41/fd", withIntermediateDirectories: true)
        // Process 42's fd folder cannot be opened as a folder (EACCES would do the same for another user's).
        try FileManager.default.createDirectory(atPath: proc + "/42", withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: proc + "/42/fd", contents: Data())
        #expect(WriterCheck.procScan(device: 1, inode: 2, procRoot: proc) == .unknown(unreadable: 1))
        // A process that exited meanwhile (no fd folder at all) is not a doubt.
        try FileManager.default.removeItem(atPath: proc + "/42")
        try FileManager.default.createDirectory(atPath: proc + "/43", withIntermediateDirectories: true)
        #expect(WriterCheck.procScan(device: 1, inode: 2, procRoot: proc) == .none)
    }

    /// Review: under `ProtectProc=invisible` (hidepid) a scan that finds nobody proves nothing.
    @Test func aProcThatHidesProcessesIsRecognized() {
        let hidden = "22 1 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw,hidepid=invisible\n"
        let subset = "22 1 0:21 / /proc rw,relatime - proc proc rw,subset=pid\n"
        let open = "22 1 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw\n"
        let zero = "22 1 0:21 / /proc rw,relatime - proc proc rw,hidepid=0\n"
        #expect(WriterCheck.procHides(mountinfo: hidden))
        #expect(WriterCheck.procHides(mountinfo: subset))
        #expect(!WriterCheck.procHides(mountinfo: open))
        #expect(!WriterCheck.procHides(mountinfo: zero))
    }
}
