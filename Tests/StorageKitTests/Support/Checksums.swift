import Foundation
import TestSupport

/// Expected digests computed outside the code under test, by the coreutils CLIs.
enum Checksums {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Runs `/usr/bin/<tool>` with `arguments`, feeding `input` on stdin; returns the first word of stdout.
    static func run(_ tool: String, _ arguments: [String] = [], input: [UInt8]? = nil) async throws -> String {
        let run = try await HelperPrograms.run("/usr/bin/" + tool, arguments, input: input)
        guard run.status == 0 else {
            throw Failure(description: "\(tool) \(arguments) exited with \(run.status)")
        }
        let text = run.stdoutText
        return String(text.split(separator: " ", maxSplits: 1).first ?? "")
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `sha256sum FILE`.
    static func sha256(file: String) async throws -> String { try await run("sha256sum", ["--", file]) }

    /// `sha1sum` of `bytes` given on stdin.
    static func sha1(_ bytes: [UInt8]) async throws -> String { try await run("sha1sum", input: bytes) }

    /// The bytes of `path` (test files are small).
    static func bytes(_ path: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    }
}
