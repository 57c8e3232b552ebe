extension ContainerCheck {
    /// How far from the end the last whole tag is looked for.
    private static let flvTail = 1 << 20

    /// FLV: every tag is followed by its size (`PreviousTagSize`), so a whole file ends with the size of a
    /// tag that ends right there. A cut file does not: the last whole tag is found near the end, and the tag
    /// after it says how many bytes are missing.
    static func checkFLV(_ reader: ContainerReader) throws(ContainerVerdictFailure) -> ContainerVerdict {
        let header = try reader.bytes(at: 0, count: 9)
        guard header.count == 9, header[0] == 0x46, header[1] == 0x4C, header[2] == 0x56 else {
            return .notMedia("The file does not start with an FLV header.")
        }
        let dataStart = Int64(header.be32(5)) + 4  // the header, then PreviousTagSize0
        guard reader.size > dataStart else {
            return reader.size == dataStart ? .ok : .truncated("The file ends inside its FLV header.")
        }
        let start = max(dataStart, reader.size - Int64(flvTail))
        let tail = try reader.bytes(at: start, count: Int(reader.size - start))
        /// Whether a whole tag ends at `end` (an index into `tail`, where its 4-byte size begins).
        func wholeTag(endingAt end: Int) -> Bool {
            guard end >= 11, end + 4 <= tail.count else { return false }
            let size = Int(tail.be32(end))
            guard size >= 11, size <= end else { return false }
            let tag = end - size
            return [8, 9, 18].contains(tail[tag] & 0x1F) && 11 + Int(tail.be24(tag + 1)) == size
        }
        if wholeTag(endingAt: tail.count - 4) { return .ok }
        var end = tail.count - 5
        while end >= 11, !wholeTag(endingAt: end) { end -= 1 }
        let next: Int
        if end >= 11 {
            next = end + 4
        } else if start == dataStart {
            next = 0  // not one whole tag: the first is cut
        } else {
            return .ok  // no whole tag near the end: leave it to libavformat
        }
        let offset = start + Int64(next)
        guard next + 11 <= tail.count else {
            return .truncated("The file ends inside an FLV tag header at offset \(offset).")
        }
        let needed = 11 + Int(tail.be24(next + 1)) + 4
        guard next + needed > tail.count else { return .ok }
        return .truncated(
            "The FLV tag at offset \(offset) needs \(needed) bytes but the file ends after \(tail.count - next): "
                + "\(missing(Int64(next + needed - tail.count)))."
        )
    }
}

extension Array where Element == UInt8 {
    func be24(_ i: Int) -> UInt32 { UInt32(self[i]) << 16 | UInt32(self[i + 1]) << 8 | UInt32(self[i + 2]) }
}
