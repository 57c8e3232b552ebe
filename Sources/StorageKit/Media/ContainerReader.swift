#if canImport(Glibc)
import Glibc
#endif

/// Reads fixed spans of a file with `pread` for ``ContainerCheck``; the descriptor's offset is left alone, so
/// callers can keep streaming from it.
struct ContainerReader {
    let fd: Int32
    let size: Int64

    /// Fills the first `count` bytes of `buffer` from `offset`; returns a verdict when that is impossible.
    func read(into buffer: inout [UInt8], count: Int, at offset: Int64) -> ContainerVerdict? {
        var done = 0
        while done < count {
            let got = Syscall.valueOrErrno {
                buffer.withUnsafeMutableBytes { raw in
                    pread(fd, raw.baseAddress! + done, count - done, off_t(offset) + off_t(done))
                }
            }
            switch got {
            case .success(0):
                return .truncated("The file ended at offset \(offset + Int64(done)), before its stated size.")
            case .success(let read):
                done += read
            case .failure(let error):
                return .truncated("Reading offset \(offset + Int64(done)) failed: \(error).")
            }
        }
        return nil
    }

    /// `count` bytes from `offset` (fewer when the file ends first); throws the verdict of a failed read.
    func bytes(at offset: Int64, count: Int) throws(ContainerVerdictFailure) -> [UInt8] {
        let available = Int(max(0, min(Int64(count), size - offset)))
        var buffer = [UInt8](repeating: 0, count: available)
        if let failure = read(into: &buffer, count: available, at: offset) {
            throw ContainerVerdictFailure(verdict: failure)
        }
        return buffer
    }
}

/// A verdict carried as an error, so that a check can `try` its reads and ``ContainerCheck`` answers a failed one
/// with its verdict in one place.
struct ContainerVerdictFailure: Error {
    let verdict: ContainerVerdict
}

/// Big-endian reads from a byte array at an index the caller has checked.
extension Array where Element == UInt8 {
    func be32(_ i: Int) -> UInt32 {
        UInt32(self[i]) << 24 | UInt32(self[i + 1]) << 16 | UInt32(self[i + 2]) << 8 | UInt32(self[i + 3])
    }
    func be64(_ i: Int) -> UInt64 { UInt64(be32(i)) << 32 | UInt64(be32(i + 4)) }
}
