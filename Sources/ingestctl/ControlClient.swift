#if canImport(Glibc)
import IngestConfig
import Glibc
#endif

/// Why a call to the daemon failed, with the exit code it maps to.
struct CtlFailure: Error, CustomStringConvertible {
    /// 1: the daemon refused; 2: a usage error (the command line must change); 3: the daemon cannot be reached.
    var exitCode: Int32
    var message: String
    var description: String { message }

    static func unreachable(_ socket: String, _ why: String) -> CtlFailure {
        CtlFailure(
            exitCode: 3,
            message: "ingestctl: cannot reach ingestd at \(socket): \(why)\n"
                + "hint: is ingestd running? start it with `make run` or `systemctl start ingestd`, "
                + "or pass --socket PATH (or set CONTROL_SOCKET) if it listens elsewhere"
        )
    }
}

/// A response from the daemon.
struct CtlResponse {
    var status: Int
    var headers: [(String, String)]
    var body: [UInt8]

    func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }
}

/// A small blocking HTTP/1.1 client over the control socket (one request per connection).
final class ControlClient {
    let socketPath: String
    private var fd: CInt = -1
    fileprivate var buffer: [UInt8] = []
    fileprivate var start = 0
    /// The connected socket (valid after ``connectSocket()``).
    var descriptor: CInt { fd }

    init(socketPath: String) { self.socketPath = socketPath }
    deinit { if fd >= 0 { close(fd) } }

    /// Connects; failures are exit code 3 with a hint.
    func connectSocket() throws(CtlFailure) {
        guard socketPath.utf8.count <= 107 else { throw .unreachable(socketPath, "the path is longer than 107 bytes") }
        do {
            fd = try UnixSocket.connect(to: socketPath)
        } catch {
            let e = error.errno
            switch e {
            case ENOENT: throw .unreachable(socketPath, "no such socket")
            case ECONNREFUSED:
                var info = stat()
                if lstat(socketPath, &info) == 0, info.st_mode & S_IFMT != S_IFSOCK {
                    throw .unreachable(socketPath, "not a socket (a file of another kind is at that path)")
                }
                throw .unreachable(socketPath, "connection refused (a stale socket: nobody listens)")
            case EACCES, EPERM:
                throw CtlFailure(
                    exitCode: 3,
                    message: "ingestctl: cannot reach ingestd at \(socketPath): permission denied\n"
                        + "hint: run as root or the daemon's user, or join CONTROL_SOCKET_GROUP"
                )
            default: throw .unreachable(socketPath, String(cString: strerror(e)))
            }
        }
    }

    /// Sends a request head (and a small body).
    func sendRequest(
        _ method: String,
        _ target: String,
        body: [UInt8] = [],
        contentLength: Int64? = nil,
        headers: [(String, String)] = []
    ) throws(CtlFailure) {
        var text = "\(method) \(target) HTTP/1.1\r\nHost: localhost\r\nUser-Agent: ingestctl\r\nConnection: close\r\n"
        for (k, v) in headers { text += "\(k): \(v)\r\n" }
        let length = contentLength ?? Int64(body.count)
        if length > 0 || method == "POST" || method == "PUT" { text += "Content-Length: \(length)\r\n" }
        text += "\r\n"
        try send(Array(text.utf8) + body)
    }

    /// Writes all of `bytes`; returns false when the daemon closed its side early (its answer can still be read).
    @discardableResult
    func send(_ bytes: [UInt8]) throws(CtlFailure) -> Bool {
        let result: Result<Bool, CtlFailure> = bytes.withUnsafeBytes { raw in
            Result { () throws(CtlFailure) in try send(raw) }
        }
        return try result.get()
    }

    /// Writes a buffer; returns false when the daemon closed its side early.
    func send(_ raw: UnsafeRawBufferPointer) throws(CtlFailure) -> Bool {
        var offset = 0
        while offset < raw.count {
            let n = Glibc.send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
            if n < 0 {
                let e = errno
                if e == EINTR { continue }
                if e == EPIPE || e == ECONNRESET { return false }
                throw .unreachable(socketPath, "send: \(String(cString: strerror(e)))")
            }
            offset += n
        }
        return true
    }

    private func fill() throws(CtlFailure) -> Bool {
        if start > 65536 {
            buffer.removeFirst(start)
            start = 0
        }
        var chunk = [UInt8](repeating: 0, count: 65536)
        let fd = self.fd
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 {
                let e = errno
                if e == EINTR { continue }
                if e == ECONNRESET { return false }
                throw .unreachable(socketPath, "receive: \(String(cString: strerror(e)))")
            }
            if n == 0 { return false }
            buffer.append(contentsOf: chunk[0..<n])
            return true
        }
    }

    private func readLine() throws(CtlFailure) -> String? {
        while true {
            if let i = buffer[start...].firstIndex(of: 0x0A) {
                var line = buffer[start..<i]
                if line.last == 0x0D { line = line.dropLast() }
                start = i + 1
                return String(decoding: line, as: UTF8.self)
            }
            guard try fill() else { return nil }
        }
    }

    private func readBytes(_ count: Int) throws(CtlFailure) -> [UInt8] {
        while buffer.count - start < count {
            guard try fill() else { throw .unreachable(socketPath, "the daemon closed the connection mid-answer") }
        }
        let out = Array(buffer[start..<start + count])
        start += count
        return out
    }

    /// Reads the status line and headers (skipping 1xx answers).
    func readHead() throws(CtlFailure) -> CtlResponse {
        while true {
            guard let statusLine = try readLine() else {
                throw .unreachable(socketPath, "the daemon closed the connection without answering")
            }
            let parts = statusLine.split(separator: " ")
            guard parts.count >= 2, parts[0].hasPrefix("HTTP/"), let status = Int(parts[1]) else {
                throw .unreachable(socketPath, "not an HTTP answer: \(statusLine.prefix(80))")
            }
            var headers: [(String, String)] = []
            while let line = try readLine(), !line.isEmpty {
                if let colon = line.firstIndex(of: ":") {
                    var value = line[line.index(after: colon)...]
                    while value.first == " " { value = value.dropFirst() }
                    headers.append((String(line[..<colon]), String(value)))
                }
            }
            if status >= 200 { return CtlResponse(status: status, headers: headers, body: []) }
        }
    }

    /// Reads a whole response; `onChunk` (when given) receives body bytes as they arrive instead.
    func readResponse(onChunk: (([UInt8]) -> Void)? = nil) throws(CtlFailure) -> CtlResponse {
        try readBody(of: try readHead(), onChunk: onChunk)
    }

    /// Reads the body that follows `head`; `onChunk` (when given) receives it as it arrives instead.
    func readBody(of head: CtlResponse, onChunk: (([UInt8]) -> Void)? = nil) throws(CtlFailure) -> CtlResponse {
        var response = head
        var body: [UInt8] = []
        func deliver(_ bytes: [UInt8]) {
            if let onChunk { onChunk(bytes) } else { body += bytes }
        }
        if response.status == 204 || response.status == 304 { return response }
        if let length = response.header("content-length").flatMap({ Int($0) }) {
            deliver(try readBytes(length))
        } else if response.header("transfer-encoding")?.lowercased().contains("chunked") == true {
            while let sizeLine = try readLine() {
                guard let size = Int(sizeLine.split(separator: ";").first ?? "", radix: 16) else { break }
                if size == 0 { break }
                deliver(try readBytes(size))
                _ = try readLine()
            }
        } else {
            while try fill() {
                deliver(Array(buffer[start...]))
                start = buffer.count
            }
        }
        response.body = body
        return response
    }
}

extension ControlClient {
    /// Reads up to `length` body bytes after a head, handing each piece to `sink` as it arrives (1 MiB reads, so
    /// memory stays flat whatever the size). Returns how many bytes came: fewer than `length` when the daemon
    /// closed the connection early.
    func streamBody(length: Int64, _ sink: (UnsafeRawBufferPointer) throws -> Void) throws -> Int64 {
        var received: Int64 = 0
        if start < buffer.count {
            let take = Int(min(Int64(buffer.count - start), length))
            try buffer[start..<start + take].withUnsafeBytes { try sink($0) }
            start += take
            received += Int64(take)
        }
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while received < length {
            let want = Int(min(Int64(chunk.count), length - received))
            let fd = self.descriptor
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, want, 0) }
            if n < 0 {
                let e = errno
                if e == EINTR { continue }
                if e == ECONNRESET { break }
                throw CtlFailure.unreachable(socketPath, "receive: \(String(cString: strerror(e)))")
            }
            if n == 0 { break }
            try chunk.withUnsafeBytes { try sink(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            received += Int64(n)
        }
        return received
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
func percentEncode(_ text: String) -> String {
    let hex = Array("0123456789ABCDEF".utf8)
    var out: [UInt8] = []
    for b in text.utf8 {
        switch b {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
            UInt8(ascii: "~"):
            out.append(b)
        default:
            out += [UInt8(ascii: "%"), hex[Int(b >> 4)], hex[Int(b & 15)]]
        }
    }
    return String(decoding: out, as: UTF8.self)
}
