extension ContainerCheck {
    /// How far from the end the last pack header is looked for.
    private static let programStreamTail = 256 << 10

    /// MPEG program stream (`.mpg`, `.vob`): from the last pack header near the end, every pack header and
    /// PES packet must fit in the file (a half-copied file ends inside its last packet). A raw MPEG video
    /// stream (no packs) and tails that do not parse are left to libavformat.
    static func checkProgramStream(_ reader: ContainerReader) throws(ContainerVerdictFailure) -> ContainerVerdict {
        let head = try reader.bytes(at: 0, count: 4)
        guard head == [0, 0, 1, 0xBA] else { return .ok }
        let start = max(0, reader.size - Int64(programStreamTail))
        let tail = try reader.bytes(at: start, count: Int(reader.size - start))
        guard var position = lastPackStart(tail) else { return .ok }
        while position < tail.count {
            guard position + 4 <= tail.count else {
                return .truncated("The file ends inside an MPEG start code at offset \(start + Int64(position)).")
            }
            guard tail[position] == 0, tail[position + 1] == 0, tail[position + 2] == 1 else { return .ok }
            let code = tail[position + 3]
            let needed: Int
            switch code {
            case 0xB9:  // program end
                needed = 4
            case 0xBA:  // pack header: MPEG-2 (14 bytes + stuffing) or MPEG-1 (12 bytes)
                guard position + 5 <= tail.count else {
                    needed = 14
                    break
                }
                if tail[position + 4] & 0xC0 == 0x40 {
                    guard position + 14 <= tail.count else {
                        needed = 14
                        break
                    }
                    needed = 14 + Int(tail[position + 13] & 0x07)
                } else {
                    needed = 12
                }
            case 0xBB...0xFF:  // system header or PES packet: a 16-bit length follows
                guard position + 6 <= tail.count else {
                    needed = 6
                    break
                }
                needed = 6 + Int(tail[position + 4]) << 8 + Int(tail[position + 5])
            default:
                return .ok
            }
            if position + needed > tail.count {
                let offset = start + Int64(position)
                return .truncated(
                    "The MPEG program stream's last packet at offset \(offset) needs \(needed) bytes but the file "
                        + "ends after \(tail.count - position): \(missing(Int64(position + needed - tail.count)))."
                )
            }
            position += needed
        }
        return .ok
    }

    /// The index of the last `00 00 01 BA` in `bytes`.
    private static func lastPackStart(_ bytes: [UInt8]) -> Int? {
        var index = bytes.count - 4
        while index >= 0 {
            if bytes[index + 3] == 0xBA, bytes[index + 2] == 1, bytes[index + 1] == 0, bytes[index] == 0 {
                return index
            }
            index -= 1
        }
        return nil
    }
}
