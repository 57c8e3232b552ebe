import Crypto
import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Runs the built `ingestd` binary on fresh folders, as a user would: drop files, ask the socket, walk the disk.
final class DaemonHarness: @unchecked Sendable {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    let root: String
    var drop: String { root + "/drop" }
    /// Another node's storage folder, shared with this one (several nodes on one PostgreSQL catalog).
    var sharedStorage: String?
    var storage: String { sharedStorage ?? root + "/storage" }
    var socket: String { sharedStorage == nil ? root + "/storage/ingestd.sock" : root + "/ingestd.sock" }
    var logPath: String { root + "/daemon.log" }
    private(set) var process: ChildProcess?
    var environment: [String: String]

    init(settleMS: Int = 150, environment: [String: String] = [:]) throws {
        var template = Array("/tmp/ingestd-e2e-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw Failure(description: "mkdtemp failed") }
        root = String(cString: made)
        try FileManager.default.createDirectory(atPath: root + "/drop", withIntermediateDirectories: true)
        // Sprites and renditions only where a test asks for them (RenditionEndToEndTests): on a 2-core machine
        // every test's clips being encoded in the background would slow the whole suite and its timings.
        self.environment = [
            "SETTLE_MS": "\(settleMS)", "MIN_FREE_BYTES": "0", "LOG_LEVEL": "debug", "RENDITIONS": "",
            "SPRITE_INTERVAL": "0",
        ].merging(environment) { $1 }
    }

    deinit {
        process?.signal(SIGKILL)
    }

    /// The built binaries sit beside the test bundle.
    static var binDirectory: String {
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
        var dir = bundle.deletingLastPathComponent()
        // `swift test` runs `<bin>/ingestdPackageTests.xctest`; under swift-testing's runner the path may point
        // inside the bundle.
        while !FileManager.default.fileExists(atPath: dir.appendingPathComponent("ingestd").path), dir.path != "/" {
            dir = dir.deletingLastPathComponent()
        }
        return dir.path
    }

    static var ingestd: String { binDirectory + "/ingestd" }
    static var ingestctl: String { binDirectory + "/ingestctl" }

    /// Starts the daemon and (unless told not to) waits until `/health` answers.
    func start(extraArguments: [String] = [], waitForHealth: Bool = true) async throws {
        var env = ProcessInfo.processInfo.environment.filter { key, _ in
            !["NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID", "JOURNAL_STREAM", "WATCHDOG_USEC"].contains(key)
        }
        env.merge(environment) { $1 }
        process = try ChildProcess(
            Self.ingestd,
            ["--drop", drop, "--storage", storage, "--socket", socket] + extraArguments,
            environment: env,
            stdout: logPath,
            stderr: logPath,
            append: true
        )
        guard waitForHealth else { return }
        try await waitUntil("the control socket answers", timeout: .seconds(20)) {
            (try? await self.request("GET", "/health").status) == 200
        }
    }

    /// Sends `signal` and waits for the exit; returns the exit status.
    @discardableResult
    func stop(signal: Int32 = SIGTERM, timeout: Duration = .seconds(30)) async throws -> Int32 {
        guard let p = process else { return 0 }
        if signal != 0 { p.signal(signal) }
        let status = try await p.wait(timeout: timeout)
        process = nil
        if status != 0 && signal != SIGKILL {
            // Said here, so that every test's failed stop shows how the daemon ended.
            let lines = log.split(separator: "\n", omittingEmptySubsequences: false)
            // A crash report starts with the runtime's "Fatal error" or "Program crashed" line.
            let crash = lines.firstIndex { $0.contains("Fatal error") || $0.contains("Program crashed") }
            let shown = crash.map { lines[max(0, $0 - 10)..<min(lines.count, $0 + 120)] } ?? lines.suffix(40)
            print("ingestd exited \(status); its log:\n" + shown.joined(separator: "\n"))
        }
        return status
    }

    /// Removes the folders (the daemon must be stopped).
    func remove() {
        if let p = process {
            p.signal(SIGKILL)
            _ = try? p.waitBlocking(timeout: .seconds(30))
        }
        try? FileManager.default.removeItem(atPath: root)
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    // MARK: - Control socket (through curl, as the README's tour does)

    struct Response {
        let status: Int
        let body: Data
        var text: String { String(decoding: body, as: UTF8.self) }
        func json() throws -> Any { try JSONSerialization.jsonObject(with: body, options: [.fragmentsAllowed]) }
        func object() throws -> [String: Any] {
            guard let o = try json() as? [String: Any] else { throw Failure(description: "not an object: \(text)") }
            return o
        }
        func array() throws -> [[String: Any]] {
            guard let a = try json() as? [[String: Any]] else { throw Failure(description: "not an array: \(text)") }
            return a
        }
    }

    /// Asks the daemon through curl, without holding a thread of the cooperative pool while curl runs.
    func request(_ method: String, _ path: String, body: String? = nil, maxTime: Int = 10) async throws -> Response {
        var args = [
            "-s", "-S", "--max-time", "\(maxTime)", "--unix-socket", socket, "-X", method, "-w", "\n%{http_code}",
        ]
        if let body { args += ["--data-binary", "@" + body, "-H", "Content-Type: application/octet-stream"] }
        args.append("http://localhost" + path)
        let out = try await Program.run("/usr/bin/curl", args, timeout: .seconds(120)).stdout
        guard let newline = out.lastIndex(of: 0x0A),
            let status = Int(String(decoding: out[(newline + 1)...], as: UTF8.self))
        else {
            throw Failure(description: "no status from curl: \(String(decoding: out, as: UTF8.self))")
        }
        return Response(status: status, body: Data(out[..<newline]))
    }

    /// Runs a program, returns stdout.
    static func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) throws -> [UInt8]
    {
        try Program.runBlocking(executable, arguments, environment: environment, timeout: .seconds(120)).stdout
    }

    // MARK: - Files

    /// Copies `source` into the drop at `relative` the way `cp` does (write in place, then close).
    func drop(_ source: String, as relative: String) throws {
        let target = drop + "/" + relative
        try FileManager.default.createDirectory(
            atPath: (target as NSString).deletingLastPathComponent,
            withIntermediateDirectories: true
        )
        try FileManager.default.copyItem(atPath: source, toPath: target)
    }

    /// Writes `bytes` into the drop at `relative`.
    func drop(bytes: [UInt8], as relative: String) throws {
        let target = drop + "/" + relative
        try FileManager.default.createDirectory(
            atPath: (target as NSString).deletingLastPathComponent,
            withIntermediateDirectories: true
        )
        try Data(bytes).write(to: URL(fileURLWithPath: target))
    }

    /// Every regular file below `folder` (relative to the harness root), relative paths, sorted.
    func files(in folder: String) -> [String] {
        let base = root + "/" + folder
        guard let e = FileManager.default.enumerator(atPath: base) else { return [] }
        var out: [String] = []
        while let name = e.nextObject() as? String {
            var s = stat()
            if lstat(base + "/" + name, &s) == 0, (s.st_mode & S_IFMT) != S_IFDIR { out.append(name) }
        }
        return out.sorted()
    }

    /// The reason code in `rejected/project_<p>/<name>.reason.json`.
    func rejectionReason(project: String, name: String) -> String? {
        let path = storage + "/rejected/project_\(project)/\(name).reason.json"
        guard let data = FileManager.default.contents(atPath: path),
            let o = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return nil }
        return o["reason"] as? String
    }

    /// The project's records.
    func assets(_ project: String) async throws -> [[String: Any]] {
        try await request("GET", "/projects/\(project)/videos").array()
    }
}

/// Polls `condition` every 25 ms until it holds or `timeout` passes (then records a failure with `what`).
func waitUntil(
    _ what: String,
    timeout: Duration = .seconds(15),
    sourceLocation: SourceLocation = #_sourceLocation,
    _ condition: @escaping () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if (try? await condition()) == true { return }
        try await Task.sleep(for: .milliseconds(25))
    }
    if try await condition() { return }
    Issue.record("timed out waiting until \(what)", sourceLocation: sourceLocation)
    throw DaemonHarness.Failure(description: "timed out waiting until \(what)")
}

/// SHA-256 of a file, hex.
func sha256(ofFile path: String) throws -> String {
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    return SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
}
