import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A program started by a test: spawned with `posix_spawn`, inheriting nothing but its three standard streams,
/// and reaped by `waitpid` on a thread of its own.
///
/// Not `Foundation.Process`: on Linux it learns of an exit when a socket it hands the child is closed, so
/// `waitUntilExit()` never returns while a grandchild that outlives the child (a server that `pg_ctl start`
/// leaves running, say) still holds that socket, and a blocked test thread then starves everything else.
public final class ChildProcess: @unchecked Sendable {
    /// How a child ended: its exit code, or 128 + the signal that killed it (as a shell reports it).
    public typealias Status = Int32

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        public init(_ description: String) { self.description = description }
    }

    public let pid: pid_t
    public let executable: String
    private let condition = NSCondition()
    private var status: Status?
    private var waiters: [CheckedContinuation<Status, Never>] = []

    /// Starts `executable` with `arguments`. Standard input comes from `stdin`; standard output and error are
    /// written to the files named (created if needed, appended to when `append`), `/dev/null` by default.
    /// Signals are reset to their defaults and none is blocked, whatever the test runner's threads do.
    public init(
        _ executable: String,
        _ arguments: [String],
        environment: [String: String]? = nil,
        directory: String? = nil,
        stdin: String = "/dev/null",
        stdout: String = "/dev/null",
        stderr: String = "/dev/null",
        append: Bool = false
    ) throws {
        self.executable = executable
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        let outputFlags = O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC)
        posix_spawn_file_actions_addopen(&actions, 0, stdin, O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdout, outputFlags, 0o644)
        if stderr == stdout {
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        } else {
            posix_spawn_file_actions_addopen(&actions, 2, stderr, outputFlags, 0o644)
        }
        guard SpawnExtensions.closeFrom(&actions, 3) == 0 else {
            throw Failure("posix_spawn: cannot close inherited descriptors")
        }
        if let directory, SpawnExtensions.changeDirectory(&actions, directory) != 0 {
            throw Failure("posix_spawn: cannot change to \(directory)")
        }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2, SIGIO] {
            sigaddset(&defaults, signal)
        }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let environment = environment ?? ProcessInfo.processInfo.environment
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard rc == 0 else { throw Failure("cannot start \(executable): \(String(cString: strerror(rc)))") }
        self.pid = pid

        let reaper = Thread { [self] in reap() }
        reaper.name = "reaper \(pid)"
        reaper.stackSize = 64 << 10
        reaper.start()
    }

    private func reap() {
        var raw: Int32 = 0
        while waitpid(pid, &raw, 0) < 0, errno == EINTR {}
        let low = raw & 0x7f
        let status = low == 0 ? (raw >> 8) & 0xff : 128 + low
        condition.lock()
        self.status = status
        let resumed = waiters
        waiters = []
        condition.broadcast()
        condition.unlock()
        for waiter in resumed { waiter.resume(returning: status) }
    }

    /// The status once the child has ended and been reaped; `nil` while it runs.
    public var exitStatus: Status? {
        condition.lock()
        defer { condition.unlock() }
        return status
    }

    public var isRunning: Bool { exitStatus == nil }

    /// Sends `signal` unless the child has already been reaped (its pid may then belong to someone else).
    public func signal(_ signal: Int32) {
        condition.lock()
        defer { condition.unlock() }
        if status == nil { kill(pid, signal) }
    }

    /// Waits for the end without holding a thread: the reaper resumes the caller.
    public func wait() async -> Status {
        await withCheckedContinuation { continuation in
            condition.lock()
            if let status {
                condition.unlock()
                continuation.resume(returning: status)
            } else {
                waiters.append(continuation)
                condition.unlock()
            }
        }
    }

    /// Waits for the end at most `timeout`; throws (leaving the child running) when it has not ended by then.
    public func wait(timeout: Duration) async throws -> Status {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let status = exitStatus { return status }
            try await Task.sleep(for: .milliseconds(10))
        }
        if let status = exitStatus { return status }
        throw Failure("\(executable) (pid \(pid)) did not end within \(timeout)")
    }

    /// Blocks the calling thread until the end, at most `timeout`; for synchronous helpers only.
    public func waitBlocking(timeout: Duration) throws -> Status {
        let (seconds, attoseconds) = timeout.components
        let limit = Date(timeIntervalSinceNow: Double(seconds) + Double(attoseconds) / 1e18)
        condition.lock()
        defer { condition.unlock() }
        while status == nil {
            if !condition.wait(until: limit) { break }
        }
        guard let status else { throw Failure("\(executable) (pid \(pid)) did not end within \(timeout)") }
        return status
    }
}

/// The glibc spawn actions Swift's Glibc module does not show (they are `_np` extensions, glibc ≥ 2.34/2.29).
private enum SpawnExtensions {
    typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, Int32) -> Int32
    typealias ChangeDirectory =
        @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, UnsafePointer<CChar>?) -> Int32

    private static func symbol<T>(_ name: String, as type: T.Type) -> T? {
        dlsym(UnsafeMutableRawPointer(bitPattern: 0), name).map { unsafeBitCast($0, to: type) }
    }

    nonisolated(unsafe) static let closeFromFunction = symbol(
        "posix_spawn_file_actions_addclosefrom_np",
        as: CloseFrom.self
    )
    nonisolated(unsafe) static let changeDirectoryFunction = symbol(
        "posix_spawn_file_actions_addchdir_np",
        as: ChangeDirectory.self
    )

    static func closeFrom(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ lowest: Int32) -> Int32 {
        closeFromFunction?(actions, lowest) ?? -1
    }

    static func changeDirectory(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ path: String) -> Int32 {
        changeDirectoryFunction?(actions, path) ?? -1
    }
}
