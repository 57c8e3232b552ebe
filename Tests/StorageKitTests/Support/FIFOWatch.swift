import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Guards a test that hands a FIFO to code that must never open it: if that code blocks in `open(2)` for
/// reading, this opens the FIFO's write side after a grace period so the call returns and the test fails
/// instead of hanging. `finish()` reports whether that rescue was needed.
final class FIFOWatch: @unchecked Sendable {
    private let lock = NSLock()
    private var finished = false
    private var rescued = false

    init(paths: [String], grace: TimeInterval = 3) {
        Thread.detachNewThread { [self] in
            Thread.sleep(forTimeInterval: grace)
            let deadline = Date().addingTimeInterval(60)
            while !isFinished && Date() < deadline {
                for path in paths {
                    // Succeeds only while some process has the FIFO open for reading.
                    let fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC)
                    if fd >= 0 {
                        close(fd)
                        markRescued()
                    }
                }
                Thread.sleep(forTimeInterval: 0.1)
            }
        }
    }

    private var isFinished: Bool { lock.withLock { finished } }
    private func markRescued() { lock.withLock { rescued = true } }

    /// Stops watching; `true` when a reader had to be unblocked (the code under test opened the FIFO).
    func finish() -> Bool {
        lock.withLock {
            finished = true
            return rescued
        }
    }
}

/// `lstat(2)` kind of `path`: "file", "dir", "link", "fifo", "other" or nil.
func fileKind(_ path: String) -> String? {
    var s = stat()
    guard lstat(path, &s) == 0 else { return nil }
    switch s.st_mode & S_IFMT {
    case S_IFREG: return "file"
    case S_IFDIR: return "dir"
    case S_IFLNK: return "link"
    case S_IFIFO: return "fifo"
    default: return "other"
    }
}

/// Names in `path` (empty when it does not exist), sorted.
func listing(_ path: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted()
}

/// Deterministic, non-repeating-looking bytes (a xorshift stream) so that offsets matter to a hash.
func patternBytes(_ count: Int, seed: UInt64 = 0x9E37_79B9_7F4A_7C15) -> [UInt8] {
    var state = seed
    var out = [UInt8](repeating: 0, count: count)
    for i in 0..<count {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        out[i] = UInt8(truncatingIfNeeded: state)
    }
    return out
}

/// Writes `bytes` to `path`, creating parent folders.
@discardableResult
func writeFile(_ path: String, _ bytes: [UInt8]) throws -> String {
    try FileManager.default.createDirectory(
        atPath: (path as NSString).deletingLastPathComponent,
        withIntermediateDirectories: true
    )
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    return path
}
