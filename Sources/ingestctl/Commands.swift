import ArgumentParser

#if canImport(Glibc)
import Glibc
#endif

/// A command that sends one request and prints the answer: the daemon's JSON as it is with `--json`, else the
/// text ``render(_:)`` makes of it. An error answer exits 1 with its message (``GlobalOptions/call(_:_:)``).
protocol RequestCommand: ParsableCommand {
    /// The options every command takes.
    var global: GlobalOptions { get }
    /// The request's method; `GET` unless the command says otherwise.
    var method: String { get }
    /// The request's path and query.
    var target: String { get }
    /// The answer, for people.
    func render(_ answer: JSONValue) -> String
}

extension RequestCommand {
    var method: String { "GET" }

    func run() throws {
        global.output(try global.call(method, target), render)
    }
}

extension IngestCtl {
    struct Health: RequestCommand {
        static let configuration = CommandConfiguration(abstract: "Show the daemon's health.")
        @OptionGroup var global: GlobalOptions
        var target: String { "/health" }

        func render(_ v: JSONValue) -> String { Render.keyValues(v) }
    }

    struct Projects: RequestCommand {
        static let configuration = CommandConfiguration(abstract: "List every project with assets or rejected files.")
        @OptionGroup var global: GlobalOptions
        var target: String { "/projects" }

        func render(_ v: JSONValue) -> String {
            let rows = v.array.map { p in
                [
                    p["project_id"]?.text ?? "-", p["assets"]?.text ?? "-", Render.size(p["bytes"]?.int),
                    p["rejected"]?.text ?? "-",
                ]
            }
            return rows.isEmpty ? "no projects" : Render.table(["PROJECT", "ASSETS", "SIZE", "REJECTED"], rows)
        }
    }

    struct Stats: RequestCommand {
        static let configuration = CommandConfiguration(abstract: "Storage statistics, overall or for one project.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "A project id.") var project: String?
        var target: String { project.map { "/projects/\($0)/storage/stats" } ?? "/storage/stats" }

        func validate() throws { if let project { try validateProject(project) } }

        func render(_ v: JSONValue) -> String {
            var rows: [[String]] = []
            if case .object(let categories) = v["categories"] ?? .null {
                for name in categories.keys.sorted() {
                    let c = categories[name]!
                    rows.append([
                        name, c["file_count"]?.text ?? "-", Render.size(c["bytes"]?.int), c["megabytes"]?.text ?? "-",
                    ])
                }
            }
            let title = (v["project_id"].map { "project \($0.text), " } ?? "") + "root \(v["root"]?.text ?? "-")"
            return title + "\n" + Render.table(["CATEGORY", "FILES", "SIZE", "MB"], rows)
        }
    }

    struct List: RequestCommand {
        static let configuration = CommandConfiguration(abstract: "List a project's assets, oldest first.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "A project id.") var project: String
        @Option(help: "At most this many assets.") var limit: Int?
        @Option(help: "Start after this asset id (paging).") var after: String?

        func validate() throws {
            try validateProject(project)
            if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
        }

        var target: String {
            var query: [String] = []
            if let limit { query.append("limit=\(limit)") }
            if let after { query.append("after=\(percentEncode(after))") }
            return "/projects/\(project)/videos" + (query.isEmpty ? "" : "?" + query.joined(separator: "&"))
        }

        func render(_ v: JSONValue) -> String {
            let rows = v.array.map { a in
                [
                    a["id"]?.text ?? "-", a["original_filename"]?.text ?? "-", Render.size(a["size_bytes"]?.int),
                    a["status"]?.text ?? "-", a["created_at"]?.text ?? "-",
                ]
            }
            return rows.isEmpty
                ? "no assets in project \(project)"
                : Render.table(["ID", "ORIGINAL NAME", "SIZE", "STATUS", "CREATED"], rows)
        }
    }

    struct Show: RequestCommand {
        static let configuration = CommandConfiguration(abstract: "Show one asset's record.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var named: AssetArguments
        var target: String { named.path }

        func render(_ v: JSONValue) -> String { Render.keyValues(v) }
    }

    struct Upload: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Upload a video file into a project.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The file to upload.") var file: String
        @Option(help: "The project to store it in.") var project: String

        func validate() throws { try validateProject(project) }

        func run() throws {
            let fd = open(file, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw ValidationError("cannot open \(file): \(String(cString: strerror(errno)))") }
            defer { close(fd) }
            var st = stat()
            guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
                throw ValidationError("\(file) is not a regular file")
            }
            let size = Int64(st.st_size)
            let name = file.split(separator: "/").last.map(String.init) ?? file
            let client = ControlClient(socketPath: try global.socketPath())
            try client.connectSocket()
            try client.sendRequest(
                "POST",
                "/projects/\(project)/videos?filename=\(percentEncode(name))",
                contentLength: size,
                headers: [("Content-Type", "application/octet-stream")]
            )
            let showProgress = isatty(2) != 0
            var sent: Int64 = 0
            var chunk = [UInt8](repeating: 0, count: 1 << 20)
            var lastPercent = -1
            while sent < size {
                let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n < 0 && errno == EINTR { continue }
                if n < 0 {
                    throw CtlFailure(
                        exitCode: 1,
                        message: "ingestctl: read \(file): \(String(cString: strerror(errno)))"
                    )
                }
                if n == 0 { break }
                let more = try chunk.withUnsafeBytes { raw throws(CtlFailure) in
                    try client.send(UnsafeRawBufferPointer(rebasing: raw[0..<n]))
                }
                if !more { break }  // the daemon answered early (413, 415…): read its answer
                sent += Int64(n)
                if showProgress {
                    let percent = size == 0 ? 100 : Int(sent * 100 / size)
                    if percent != lastPercent {
                        lastPercent = percent
                        let bar =
                            String(repeating: "#", count: percent / 4) + String(repeating: ".", count: 25 - percent / 4)
                        writeStderr("\r[\(bar)] \(percent)% \(Render.size(sent)) / \(Render.size(size))")
                    }
                }
            }
            if showProgress { writeStderr("\n") }
            let r = try GlobalOptions.checked(client.readResponse())
            global.output(r) { v in
                "stored \(name) as \(v["id"]?.text ?? "-") (\(v["relative_path"]?.text ?? "-"), \(Render.size(v["size_bytes"]?.int)), sha256 \(v["checksum"]?.text ?? "-"))"
            }
        }
    }

    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete an asset: its file, thumbnail and record.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var named: AssetArguments

        func run() throws {
            _ = try global.call("DELETE", named.path)
            if global.json {
                print("{\"deleted\":true}")
            } else {
                print("deleted asset \(named.asset) of project \(named.project)")
            }
        }
    }

    struct Purge: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete every file and record of a project.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "A project id.") var project: String
        @Flag(help: "Do not ask for confirmation.") var yes = false

        func validate() throws {
            try validateProject(project)
            if !yes && isatty(0) == 0 {
                throw ValidationError("refusing to purge project \(project) without --yes when stdin is not a terminal")
            }
        }

        func run() throws {
            if !yes {
                writeStderr(
                    "Delete ALL files and records of project \(project), rejected files included? Type the project id to confirm: "
                )
                guard let answer = readLine(), answer.trimmingCharacters() == project else {
                    throw CtlFailure(exitCode: 1, message: "ingestctl: purge of \(project) cancelled")
                }
            }
            let r = try global.call("DELETE", "/projects/\(project)/storage")
            global.output(r) { v in
                "purged project \(project): \(v["files_removed"]?.text ?? "-") files removed, \(Render.size(v["bytes_freed"]?.int)) freed"
            }
        }
    }

    struct Rescan: RequestCommand {
        static let configuration = CommandConfiguration(abstract: "Scan the drop directory again.")
        @OptionGroup var global: GlobalOptions
        var method: String { "POST" }
        var target: String { "/rescan" }

        func render(_: JSONValue) -> String { "rescan queued" }
    }

    struct Repair: RequestCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check the catalog against storage and fix differences."
        )
        @OptionGroup var global: GlobalOptions
        @Flag(name: .customLong("dry-run"), help: "Report what would change without changing anything.") var dryRun =
            false

        var method: String { "POST" }
        var target: String { dryRun ? "/repair?dry_run=1" : "/repair" }

        func render(_ v: JSONValue) -> String {
            (dryRun ? "repair (dry run):\n" : "repair:\n") + Render.keyValues(v, indent: "  ")
        }
    }

    struct Rejected: RequestCommand {
        static let configuration = CommandConfiguration(abstract: "List a project's rejected files and why.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "A project id.") var project: String
        var target: String { "/projects/\(project)/rejected" }

        func validate() throws { try validateProject(project) }

        func render(_ v: JSONValue) -> String {
            let rows = v.array.map { f in
                [
                    f["name"]?.text ?? f["filename"]?.text ?? "-", f["reason"]?.text ?? "-",
                    f["rejected_at"]?.text ?? "-", f["detail"]?.text ?? "",
                ]
            }
            return rows.isEmpty
                ? "no rejected files in project \(project)"
                : Render.table(["NAME", "REASON", "REJECTED AT", "DETAIL"], rows)
        }
    }

    struct Retry: RequestCommand {
        static let configuration = CommandConfiguration(abstract: "Send a rejected file through the pipeline again.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "A project id.") var project: String
        @Argument(help: "The rejected file's name.") var name: String

        func validate() throws {
            try validateProject(project)
            if name.isEmpty || name.contains("/") || name == "." || name == ".." {
                throw ValidationError("'\(name)' is not a file name")
            }
        }

        var method: String { "POST" }
        var target: String { "/projects/\(project)/rejected/\(percentEncode(name))/retry" }

        func render(_: JSONValue) -> String { "\(name) queued for another try" }
    }

    struct Events: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Follow the daemon's event stream.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Replay the kept events after this id first.") var since: Int64?

        func validate() throws { if let since, since < 0 { throw ValidationError("--since must be ≥ 0") } }

        func run() throws {
            let client = ControlClient(socketPath: try global.socketPath())
            try client.connectSocket()
            try client.sendRequest("GET", "/events" + (since.map { "?since=\($0)" } ?? ""))
            let head = try client.readHead()
            if head.status >= 400 {
                _ = try GlobalOptions.checked(client.readBody(of: head))
            }
            // The head is consumed; read the chunked body line by line.
            var pending: [UInt8] = []
            let json = global.json
            _ = try client.readBody(of: head) { bytes in
                pending += bytes
                while let nl = pending.firstIndex(of: 0x0A) {
                    let line = Array(pending[..<nl])
                    pending.removeFirst(nl + 1)
                    Events.printEvent(line, json: json)
                }
            }
            // The stream follows for ever: its end is the daemon stopping or going away.
            throw CtlFailure.unreachable(
                client.socketPath,
                "the event stream ended: the daemon stopped or went away"
            )
        }

        static func printEvent(_ line: [UInt8], json: Bool) {
            print(json ? String(decoding: line, as: UTF8.self) : eventText(line))
            fflush(nil)
        }

        /// One event as a line of text: id, time, type and project, then the fields it carries as `key=value`
        /// (the line as it came when it is not JSON).
        static func eventText(_ line: [UInt8]) -> String {
            guard let v = JSONValue.parse(line) else { return String(decoding: line, as: UTF8.self) }
            var parts = [
                v["id"]?.text ?? "-", v["at"]?.text ?? "-", v["type"]?.text ?? "-", v["project_id"]?.text ?? "-",
            ]
            for key in ["node", "asset_id", "filename", "rendition", "step", "reason", "error"] {
                if let x = v[key] { parts.append("\(key)=\(x.text)") }
            }
            return parts.joined(separator: "  ")
        }
    }
}

/// The two arguments that name one asset, `PROJECT ASSET`, for the commands that act on one (show, delete,
/// download).
struct AssetArguments: ParsableArguments {
    @Argument(help: "A project id.") var project: String
    @Argument(help: "An asset id.") var asset: String

    /// The asset's path in the control API, `/projects/{id}/videos/{asset_id}`.
    var path: String { "/projects/\(project)/videos/\(percentEncode(asset))" }

    func validate() throws { try validateProject(project) }
}

extension String {
    /// Without surrounding whitespace and newlines.
    func trimmingCharacters() -> String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s = s.dropFirst() }
        while let l = s.last, l.isWhitespace { s = s.dropLast() }
        return String(s)
    }
}
