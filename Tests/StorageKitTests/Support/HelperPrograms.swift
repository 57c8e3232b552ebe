import Foundation
import TestSupport

/// Runs the reference tools of the test support (ffmpeg, ffprobe, the coreutils checksums): at most one per
/// processor at a time, and at a lower CPU priority (`nice -n 10`) than the tests themselves.
///
/// The helpers await their program rather than block a thread of the cooperative pool, so the pool no longer
/// holds back the tests that run beside them. Without the gate every test waiting for a clip would start its
/// ffmpeg at once; without the lower priority the encodes would take the processors from tests that time
/// themselves (five seconds of taken names, a stop within 5 s). Waiting here holds no thread, and a program's
/// own time limit starts when it starts.
enum HelperPrograms {
    private static let gate = Gate(width: max(ProcessInfo.processInfo.activeProcessorCount, 1))

    static func run(_ executable: String, _ arguments: [String], input: [UInt8]? = nil) async throws -> ProgramOutput {
        await gate.enter()
        do {
            let output = try await Program.run("/usr/bin/nice", ["-n", "10", executable] + arguments, input: input)
            await gate.leave()
            return output
        } catch {
            await gate.leave()
            throw error
        }
    }

    /// At most `width` holders at once; the others wait in order of arrival.
    private actor Gate {
        private let width: Int
        private var holders = 0
        private var waiting: [CheckedContinuation<Void, Never>] = []

        init(width: Int) { self.width = width }

        func enter() async {
            if holders < width {
                holders += 1
                return
            }
            await withCheckedContinuation { waiting.append($0) }
        }

        /// Hands the place to the first waiter, if any.
        func leave() {
            if waiting.isEmpty {
                holders -= 1
            } else {
                waiting.removeFirst().resume()
            }
        }
    }
}
