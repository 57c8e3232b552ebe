import Crypto
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import StorageKit
import Synchronization
import Testing

@testable import IngestDaemon

#if canImport(Glibc)
import Glibc
#endif

/// Runs blocking `work` on its own thread so the cooperative pool stays free for the server.
func onThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread { continuation.resume(with: Result { try work() }) }
        thread.stackSize = 1 << 20
        thread.start()
    }
}

/// A fresh temporary directory, removed by `cleanup()`.
struct TempDir {
    let path: String
    init() {
        var template = Array("/tmp/ingestd-control-XXXXXX".utf8CString)
        let p = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        path = String(cString: p!)
        chmod(path, 0o755)
    }
    func cleanup() { try? FileManager.default.removeItem(atPath: path) }
}

/// A parsed HTTP response.
struct RawResponse: Sendable {
    var status: Int
    var headers: [(String, String)]
    var body: [UInt8]
    func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
    var text: String { String(decoding: body, as: UTF8.self) }
    var json: Any? { try? JSONSerialization.jsonObject(with: Data(body), options: [.fragmentsAllowed]) }
    var object: [String: Any] { (json as? [String: Any]) ?? [:] }
}

/// A blocking HTTP/1.1 client on a Unix socket, for tests only.
final class RawClient: @unchecked Sendable {
    let fd: CInt
    private var buffer: [UInt8] = []

    init(path: String) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            let bytes = Array(path.utf8)
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        if rc != 0 {
            let e = errno
            close(fd)
            throw TestError("connect \(path): \(String(cString: strerror(e)))")
        }
        var tv = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw TestError("send: \(String(cString: strerror(errno)))")
            }
            offset += n
        }
    }

    func send(_ text: String) throws { try send(Array(text.utf8)) }

    /// Reads at least one more byte into the buffer; false at EOF.
    private func fill() throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 {
                if errno == EINTR { continue }
                if errno == ECONNRESET { return false }
                throw TestError("recv: \(String(cString: strerror(errno)))")
            }
            if n == 0 { return false }
            buffer.append(contentsOf: chunk[0..<n])
            return true
        }
    }

    func readLine() throws -> String? {
        while true {
            if let i = buffer.firstIndex(of: 0x0A) {
                let line = buffer[..<i]
                buffer.removeFirst(i + 1)
                return String(decoding: line.last == 0x0D ? line.dropLast() : line, as: UTF8.self)
            }
            guard try fill() else { return nil }
        }
    }

    func readBytes(_ count: Int) throws -> [UInt8] {
        while buffer.count < count { guard try fill() else { throw TestError("EOF inside a body") } }
        let out = Array(buffer[..<count])
        buffer.removeFirst(count)
        return out
    }

    /// Reads the head of a response (skipping 1xx).
    func readHead() throws -> (Int, [(String, String)]) {
        while true {
            guard let statusLine = try readLine() else { throw TestError("EOF before a response") }
            let parts = statusLine.split(separator: " ")
            guard parts.count >= 2, let status = Int(parts[1]) else { throw TestError("bad status line \(statusLine)") }
            var headers: [(String, String)] = []
            while let line = try readLine(), !line.isEmpty {
                if let colon = line.firstIndex(of: ":") {
                    headers.append(
                        (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
                    )
                }
            }
            if status >= 200 { return (status, headers) }
        }
    }

    /// Reads one complete response.
    func readResponse() throws -> RawResponse {
        let (status, headers) = try readHead()
        var response = RawResponse(status: status, headers: headers, body: [])
        if status == 204 || status == 304 { return response }
        if let length = response.header("content-length").flatMap(Int.init) {
            response.body = try readBytes(length)
        } else if response.header("transfer-encoding")?.lowercased() == "chunked" {
            while let sizeLine = try readLine(), let size = Int(sizeLine, radix: 16) {
                if size == 0 {
                    _ = try readLine()
                    break
                }
                response.body += try readBytes(size)
                _ = try readLine()
            }
        } else {
            while try fill() {}
            response.body = buffer
            buffer = []
        }
        return response
    }

    /// Sends a request and reads its response.
    func request(
        _ method: String,
        _ target: String,
        body: [UInt8] = [],
        headers: [String: String] = [:]
    ) throws -> RawResponse {
        var text = "\(method) \(target) HTTP/1.1\r\nHost: localhost\r\n"
        for (k, v) in headers { text += "\(k): \(v)\r\n" }
        if !body.isEmpty || method == "POST" { text += "Content-Length: \(body.count)\r\n" }
        text += "\r\n"
        try send(Array(text.utf8) + body)
        if method == "HEAD" {
            let (status, headers) = try readHead()
            return RawResponse(status: status, headers: headers, body: [])
        }
        return try readResponse()
    }

    /// Whether the server closed the connection (EOF within `seconds`).
    func isClosed() throws -> Bool { try !fill() }
}

struct TestError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// One request over a fresh connection.
func fetch(
    _ path: String,
    _ method: String,
    _ target: String,
    body: [UInt8] = [],
    headers: [String: String] = [:]
) async throws -> RawResponse {
    try await onThread { try RawClient(path: path).request(method, target, body: body, headers: headers) }
}

/// SHA-256 hex of `bytes`.
func sha256Hex(_ bytes: some Sequence<UInt8>) -> String {
    SHA256.hash(data: Array(bytes)).map { String(format: "%02x", $0) }.joined()
}

/// The resident set size of this process, in bytes.
func residentBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in text.split(separator: "\n") where line.hasPrefix("VmRSS:") {
        let kb = line.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        return kb * 1024
    }
    return 0
}

/// A running server on a temp socket with a fake backend.
struct TestServer {
    let dir: TempDir
    let socket: String
    let backend: FakeBackend
    let server: ControlServer

    static func start(
        maxSize: Int64 = 10 << 20,
        mode: UInt32 = 0o660,
        configure: (inout ControlServerConfiguration) -> Void = { _ in }
    ) async throws -> TestServer {
        let dir = TempDir()
        let socket = dir.path + "/run/control.sock"
        let backend = FakeBackend(stagingDirectory: dir.path + "/staging", maxSize: maxSize)
        var configuration = ControlServerConfiguration()
        configure(&configuration)
        var logger = Logger(label: "control-test")
        logger.logLevel = .critical
        let server = try await ControlServer.start(
            .path(socket, mode: mode),
            backend: backend,
            logger: logger,
            configuration: configuration
        )
        return TestServer(dir: dir, socket: socket, backend: backend, server: server)
    }

    func stop() async {
        await server.close()
        dir.cleanup()
    }

    /// Files left in the staging directory.
    func stagedFiles() -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: dir.path + "/staging")) ?? []
    }
}
