import Foundation
import Glibc

/// Test helpers for the systemd suites: Unix sockets, a temporary directory, scoped environment variables.
enum SystemdTestSupport {
    /// Errors of the helpers, with the failing call and errno.
    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ call: String, errno code: Int32 = errno) {
            self.description = "\(call): \(String(cString: strerror(code)))"
        }
    }

    /// A fresh directory under /tmp (short, since a socket path holds at most 107 bytes).
    static func temporaryDirectory() throws -> String {
        var template = Array("/tmp/ingestd-sd-XXXXXX".utf8CString)
        guard let result = mkdtemp(&template) else { throw Failure("mkdtemp") }
        return String(cString: result)
    }

    /// A Unix socket of `type` bound to `path`, listening when `listen` is set.
    static func unixSocket(type: __socket_type, path: String, listen: Bool = false) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(type.rawValue), 0)
        guard fd >= 0 else { throw Failure("socket") }
        guard Self.withAddress(path, { bind(fd, $0, $1) }) == 0 else {
            close(fd)
            throw Failure("bind \(path)")
        }
        if listen {
            guard Glibc.listen(fd, 8) == 0 else {
                close(fd)
                throw Failure("listen")
            }
        }
        return fd
    }

    /// Calls `body` (bind or connect) with the `sockaddr_un` of `path` and its length.
    static func withAddress(_ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> Int32) -> Int32 {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        precondition(bytes.count < MemoryLayout.size(ofValue: address.sun_path), "socket path too long: \(path)")
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            buffer.copyBytes(from: bytes)
            buffer[bytes.count] = 0
        }
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
    }

    /// Sets (or, for nil, unsets) environment variables for the duration of `body`, then restores them.
    static func withEnvironment<T>(
        _ variables: [String: String?],
        _ body: () async throws -> T
    ) async throws -> T {
        var saved: [String: String?] = [:]
        for (name, value) in variables {
            saved[name] = getenv(name).map { String(cString: $0) }
            if let value {
                setenv(name, value, 1)
            } else {
                unsetenv(name)
            }
        }
        defer {
            for (name, value) in saved {
                if let value {
                    setenv(name, value, 1)
                } else {
                    unsetenv(name)
                }
            }
        }
        return try await body()
    }
}

/// The service manager's end of `NOTIFY_SOCKET`: a datagram socket in a temporary directory.
/// Unchecked Sendable: its state is immutable and one test reads from it at a time.
final class NotifyListener: @unchecked Sendable {
    /// The socket's path, the value for `NOTIFY_SOCKET`.
    let path: String
    private let directory: String
    private let fd: Int32

    init() throws {
        self.directory = try SystemdTestSupport.temporaryDirectory()
        self.path = self.directory + "/notify.sock"
        self.fd = try SystemdTestSupport.unixSocket(type: SOCK_DGRAM, path: self.path)
    }

    deinit {
        close(self.fd)
        unlink(self.path)
        rmdir(self.directory)
    }

    /// The next datagram, or nil when none arrives within `timeout`.
    func receive(timeout: Duration = .seconds(2)) -> String? {
        var descriptor = pollfd(fd: self.fd, events: Int16(POLLIN), revents: 0)
        let milliseconds = Int32(
            timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000
        )
        guard poll(&descriptor, 1, milliseconds) == 1 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = recv(self.fd, &buffer, buffer.count, 0)
        guard count >= 0 else { return nil }
        return String(decoding: buffer[..<count], as: UTF8.self)
    }

    /// Every datagram that arrives within `window`, with its arrival time.
    /// With `last`: stops early once a datagram equals it (included).
    func receiveAll(
        for window: Duration,
        until last: String? = nil
    ) -> [(message: String, at: ContinuousClock.Instant)] {
        let end = ContinuousClock.now + window
        var messages: [(String, ContinuousClock.Instant)] = []
        while case let left = end - ContinuousClock.now, left > .zero, last == nil || messages.last?.0 != last {
            guard let message = self.receive(timeout: left) else { break }
            messages.append((message, ContinuousClock.now))
        }
        return messages
    }

    /// Every datagram until one equals `last` (included) or `timeout` passes, with arrival times, on a thread of
    /// its own: how long a storm of calls takes depends on the machine's load, the end of what it sends does not.
    func collect(until last: String, timeout: Duration) async -> [(message: String, at: ContinuousClock.Instant)] {
        await withCheckedContinuation { continuation in
            Thread { continuation.resume(returning: self.receiveAll(for: timeout, until: last)) }.start()
        }
    }

    /// ``receiveAll(for:)`` on a thread of its own, so that waiting does not hold a cooperative thread that the
    /// code under test (timers, the watchdog) needs.
    func collect(for window: Duration) async -> [(message: String, at: ContinuousClock.Instant)] {
        await withCheckedContinuation { continuation in
            Thread { continuation.resume(returning: self.receiveAll(for: window)) }.start()
        }
    }
}
