#if canImport(Glibc)
import Glibc
#endif

/// One file fetched over the control socket, into a file (resumable, see ``IngestCtl/Download``) or standard output.
struct Transfer {
    let socket: String
    /// The request target (`/projects/p/videos/a/content`).
    let target: String
    /// What messages call the file.
    let label: String

    struct Result {
        /// Size of the complete file.
        var total: Int64
        /// Bytes that were already there from an interrupted run (0 for a fresh download).
        var resumedFrom: Int64
    }

    /// Streams the whole file to standard output; returns its size.
    func toStandardOutput() throws -> Int64 {
        let (client, head) = try request(headers: [])
        guard head.status == 200, let length = head.header("content-length").flatMap({ Int64($0) }) else {
            throw CtlFailure(exitCode: 1, message: "ingestctl: unexpected answer \(head.status) for \(label)")
        }
        var progress = ProgressBar(total: length, done: 0)
        let got = try client.streamBody(length: length) { bytes in
            try Self.writeAll(1, bytes, what: "standard output")
            progress.advance(bytes.count)
        }
        progress.finish()
        guard got == length else { throw cut(got, of: length, part: nil) }
        return length
    }

    /// Downloads into `path` through `path.part` (resuming it when `path.part.etag` says which version it holds).
    /// Unless `replace`, a `path` that appeared meanwhile is kept (the part is then left as it is).
    func toFile(_ path: String, replace: Bool = true) throws -> Result {
        let part = path + ".part"
        let tagPath = part + ".etag"
        for attempt in 0..<2 {
            var offset: Int64 = 0
            var saved: String? = nil
            if attempt == 0, let size = Self.regularFileSize(part), size > 0, let tag = Self.readTag(tagPath) {
                offset = size
                saved = tag
            }
            let headers = saved.map { [("Range", "bytes=\(offset)-"), ("If-Range", $0)] } ?? []
            let (client, head) = try request(headers: headers)
            let etag = head.header("etag")
            let length = head.header("content-length").flatMap { Int64($0) }
            switch head.status {
            case 416 where saved != nil:
                // Nothing left to fetch: complete if the daemon's file is the one the part holds.
                if let range = head.header("content-range"), range == "bytes */\(offset)", etag == saved {
                    try Self.finish(part: part, tag: tagPath, path: path, replace: replace, fd: nil, total: offset)
                    return Result(total: offset, resumedFrom: offset)
                }
            case 206 where saved != nil:
                guard let range = head.header("content-range").flatMap(Self.parseContentRange), range.first == offset,
                    etag == saved, let length, length == range.total - offset
                else { break }
                let fd = try Self.openPart(part, truncate: false)
                guard ftruncate(fd, off_t(offset)) == 0, lseek(fd, off_t(offset), SEEK_SET) == off_t(offset) else {
                    close(fd)
                    throw Self.writeFailure(part)
                }
                try receive(client, into: fd, part: part, from: offset, length: length, total: range.total)
                try Self.finish(part: part, tag: tagPath, path: path, replace: replace, fd: fd, total: range.total)
                return Result(total: range.total, resumedFrom: offset)
            case 200:
                guard let length else { break }
                let fd = try Self.openPart(part, truncate: true)
                // The tag goes down before any byte, so a cut download can be resumed.
                if let etag { try Self.writeTag(etag, to: tagPath) } else { unlink(tagPath) }
                try receive(client, into: fd, part: part, from: 0, length: length, total: length)
                try Self.finish(part: part, tag: tagPath, path: path, replace: replace, fd: fd, total: length)
                return Result(total: length, resumedFrom: 0)
            default:
                throw CtlFailure(exitCode: 1, message: "ingestctl: unexpected answer \(head.status) for \(label)")
            }
            // The part does not fit the daemon's file (it changed, or the part is damaged): start over.
            unlink(part)
            unlink(tagPath)
        }
        throw CtlFailure(exitCode: 1, message: "ingestctl: the daemon's answers for \(label) do not fit together")
    }

    // MARK: - Steps

    /// Sends the GET and reads the head; an error answer becomes exit code 1 with the daemon's words.
    private func request(headers: [(String, String)]) throws -> (ControlClient, CtlResponse) {
        let client = ControlClient(socketPath: socket)
        try client.connectSocket()
        try client.sendRequest("GET", target, headers: headers)
        let head = try client.readHead()
        if head.status >= 400 && head.status != 416 {
            _ = try GlobalOptions.checked(client.readBody(of: head))
        }
        if head.status == 416 { _ = try client.readBody(of: head) }
        return (client, head)
    }

    /// Appends `length` body bytes to `fd`.
    private func receive(
        _ client: ControlClient,
        into fd: CInt,
        part: String,
        from offset: Int64,
        length: Int64,
        total: Int64
    ) throws {
        var progress = ProgressBar(total: total, done: offset)
        let got: Int64
        do {
            got = try client.streamBody(length: length) { bytes in
                try Self.writeAll(fd, bytes, what: part)
                progress.advance(bytes.count)
            }
        } catch {
            close(fd)
            progress.finish()
            throw error
        }
        progress.finish()
        guard got == length else {
            close(fd)
            throw cut(offset + got, of: total, part: part)
        }
    }

    private func cut(_ got: Int64, of total: Int64, part: String?) -> CtlFailure {
        CtlFailure(
            exitCode: 3,
            message:
                "ingestctl: the daemon closed the connection after \(Render.size(got)) of \(Render.size(total)) of \(label)"
                + (part.map { "; \($0) is kept: run the same command again to resume" } ?? "")
        )
    }

    /// Syncs and closes the part, checks its size, renames it to `path` and drops the tag. Unless `replace`, the
    /// part is linked to `path`, which fails on a file that appeared there meanwhile (a rename would replace it).
    private static func finish(
        part: String,
        tag: String,
        path: String,
        replace: Bool,
        fd: CInt?,
        total: Int64
    ) throws {
        if let fd {
            _ = fsync(fd)
            close(fd)
        }
        guard regularFileSize(part) == total else {
            throw CtlFailure(exitCode: 1, message: "ingestctl: \(part) does not have the expected \(total) bytes")
        }
        if !replace {
            if link(part, path) == 0 {
                unlink(part)
                unlink(tag)
                return
            }
            if errno == EEXIST {
                throw CtlFailure(
                    exitCode: 2,
                    message: "ingestctl: \(path) appeared while downloading and is left as it is; the download is "
                        + "kept in \(part). Save under another name with -o FILE, or remove \(path) first"
                )
            }
            // No hard links on this filesystem: the check before the download has to do.
        }
        guard rename(part, path) == 0 else {
            throw CtlFailure(
                exitCode: 1,
                message: "ingestctl: cannot rename \(part) to \(path): \(String(cString: strerror(errno)))"
            )
        }
        unlink(tag)
    }

    // MARK: - Files

    private static func openPart(_ part: String, truncate: Bool) throws -> CInt {
        let flags = O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | (truncate ? O_TRUNC : 0)
        let fd = open(part, flags, 0o644)
        // Where the file goes is the command line's choice: a place it cannot be made is a usage error (2).
        guard fd >= 0 else { throw writeFailure(part, exitCode: 2) }
        return fd
    }

    private static func writeFailure(_ path: String, exitCode: Int32 = 1) -> CtlFailure {
        CtlFailure(exitCode: exitCode, message: "ingestctl: cannot write \(path): \(String(cString: strerror(errno)))")
    }

    static func writeAll(_ fd: CInt, _ bytes: UnsafeRawBufferPointer, what: String) throws {
        var offset = 0
        while offset < bytes.count {
            let n = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw writeFailure(what) }
            offset += n
        }
    }

    static func regularFileSize(_ path: String) -> Int64? {
        var st = stat()
        guard lstat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        return Int64(st.st_size)
    }

    static func readTag(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: 512)
        let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard n > 0 else { return nil }
        let tag = String(decoding: bytes[0..<n], as: UTF8.self).trimmingCharacters()
        return tag.isEmpty ? nil : tag
    }

    static func writeTag(_ tag: String, to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o644)
        guard fd >= 0 else { throw writeFailure(path) }
        defer { close(fd) }
        try Array((tag + "\n").utf8).withUnsafeBytes { try writeAll(fd, $0, what: path) }
    }

    /// `bytes first-last/total` → its numbers.
    static func parseContentRange(_ value: String) -> (first: Int64, last: Int64, total: Int64)? {
        guard value.hasPrefix("bytes ") else { return nil }
        let parts = value.dropFirst(6).split(separator: "/")
        guard parts.count == 2, let total = Int64(parts[1]) else { return nil }
        let bounds = parts[0].split(separator: "-")
        guard bounds.count == 2, let first = Int64(bounds[0]), let last = Int64(bounds[1]), first <= last, last < total
        else { return nil }
        return (first, last, total)
    }
}

/// A progress bar on standard error, drawn only when it is a terminal, at most ten times a second.
struct ProgressBar {
    let total: Int64
    var done: Int64
    private let enabled = isatty(2) != 0
    private let started: Double
    private var lastDraw: Double = 0
    private let startedAt: Int64

    init(total: Int64, done: Int64) {
        self.total = total
        self.done = done
        started = Self.now()
        startedAt = done
    }

    mutating func advance(_ n: Int) {
        done += Int64(n)
        guard enabled else { return }
        let now = Self.now()
        if now - lastDraw >= 0.1 || done == total {
            lastDraw = now
            draw(now)
        }
    }

    func finish() {
        guard enabled else { return }
        draw(Self.now())
        writeStderr("\n")
    }

    private func draw(_ now: Double) {
        let percent = total > 0 ? Int(done * 100 / total) : 100
        let bar = String(repeating: "#", count: percent / 4) + String(repeating: ".", count: 25 - percent / 4)
        let elapsed = max(now - started, 0.001)
        let rate = Double(done - startedAt) / elapsed
        writeStderr(
            "\r[\(bar)] \(percent)% \(Render.size(done)) / \(Render.size(total))  \(Render.size(Int64(rate)))/s "
        )
    }

    private static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
