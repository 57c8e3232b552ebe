import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// What a program printed and how it ended.
public struct ProgramOutput: Sendable {
    public var status: ChildProcess.Status
    public var stdout: [UInt8]
    public var stderr: [UInt8]
    public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    public var stderrText: String { String(decoding: stderr, as: UTF8.self) }
}

/// Runs a program to its end and collects its output. Output goes through temporary files, not pipes: nothing
/// can fill a pipe and stall the program, and no other process can hold a pipe open and keep it from ending.
/// A program still running at `timeout` is killed and reported as an error, so no test waits forever.
public enum Program {
    /// Runs without holding a thread of the cooperative pool while the program runs.
    public static func run(
        _ executable: String,
        _ arguments: [String],
        environment: [String: String]? = nil,
        directory: String? = nil,
        input: [UInt8]? = nil,
        timeout: Duration = .seconds(300)
    ) async throws -> ProgramOutput {
        let files = try Files(input: input)
        defer { files.remove() }
        let child = try files.start(executable, arguments, environment: environment, directory: directory)
        let limit = TimeLimit()
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout.timeInterval) {
            if child.isRunning {
                limit.expired = true
                child.signal(SIGKILL)
            }
        }
        let status = await child.wait()
        return try files.output(of: child, status: status, timedOut: limit.expired)
    }

    /// The same for synchronous helpers: blocks the calling thread, at most `timeout`.
    public static func runBlocking(
        _ executable: String,
        _ arguments: [String],
        environment: [String: String]? = nil,
        directory: String? = nil,
        input: [UInt8]? = nil,
        timeout: Duration = .seconds(300)
    ) throws -> ProgramOutput {
        let files = try Files(input: input)
        defer { files.remove() }
        let child = try files.start(executable, arguments, environment: environment, directory: directory)
        do {
            let status = try child.waitBlocking(timeout: timeout)
            return try files.output(of: child, status: status, timedOut: false)
        } catch {
            child.signal(SIGKILL)
            _ = try? child.waitBlocking(timeout: .seconds(10))
            throw error
        }
    }

    /// Set once a run's time limit has killed it.
    private final class TimeLimit: @unchecked Sendable {
        private let lock = NSLock()
        private var value = false
        var expired: Bool {
            get { lock.withLock { value } }
            set { lock.withLock { value = newValue } }
        }
    }

    /// The temporary files of one run.
    private struct Files {
        let directory: String
        var stdin: String { directory + "/stdin" }
        var stdout: String { directory + "/stdout" }
        var stderr: String { directory + "/stderr" }
        let hasInput: Bool

        init(input: [UInt8]?) throws {
            var template = Array((NSTemporaryDirectory() + "/ingestd-program-XXXXXX").utf8CString)
            guard let made = mkdtemp(&template) else { throw ChildProcess.Failure("mkdtemp: \(errno)") }
            directory = String(cString: made)
            hasInput = input != nil
            if let input { try Data(input).write(to: URL(fileURLWithPath: directory + "/stdin")) }
        }

        func start(
            _ executable: String,
            _ arguments: [String],
            environment: [String: String]?,
            directory: String?
        ) throws -> ChildProcess {
            try ChildProcess(
                executable,
                arguments,
                environment: environment,
                directory: directory,
                stdin: hasInput ? stdin : "/dev/null",
                stdout: stdout,
                stderr: stderr
            )
        }

        func output(of child: ChildProcess, status: ChildProcess.Status, timedOut: Bool) throws -> ProgramOutput {
            let out = (try? Data(contentsOf: URL(fileURLWithPath: stdout))) ?? Data()
            let err = (try? Data(contentsOf: URL(fileURLWithPath: stderr))) ?? Data()
            if timedOut {
                throw ChildProcess.Failure(
                    "\(child.executable) was killed at its time limit: "
                        + String(decoding: err.suffix(2000), as: UTF8.self)
                )
            }
            return ProgramOutput(status: status, stdout: [UInt8](out), stderr: [UInt8](err))
        }

        func remove() { try? FileManager.default.removeItem(atPath: directory) }
    }
}

extension Duration {
    /// Seconds as a `TimeInterval`.
    public var timeInterval: TimeInterval {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
