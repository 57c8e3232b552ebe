import CIngestLinux
import Glibc

/// The nice value of the calling thread. Linux schedules threads, not processes: a thread's nice value applies
/// to it alone and is inherited by the threads it starts afterwards (an encoder's worker threads, say).
public enum ThreadNice {
    /// The calling thread's nice value.
    public static var current: Int32 {
        get throws(StorageError) {
            let value = CIngestLinux_threadNice()
            if value == -1, errno != 0 { throw StorageError.syscall("getpriority", path: "thread", errno: errno) }
            return value
        }
    }

    /// Sets the calling thread's nice value. Raising it needs no privilege; lowering it below the current
    /// value needs CAP_SYS_NICE.
    public static func set(_ value: Int32) throws(StorageError) {
        guard CIngestLinux_setThreadNice(value) == 0 else {
            throw StorageError.syscall("setpriority", path: "thread", errno: errno)
        }
    }
}
