extension ContainerCheck {
    /// Largest `moov` box read into memory; a bigger index is left to libavformat.
    static let maxMovieBytes: Int64 = 256 << 20

    /// Checks that the samples every track's tables describe lie inside the file: for each chunk, its offset
    /// (`stco`/`co64`) plus the sizes (`stsz`) of the samples `stsc` puts in it. Tables that do not parse are
    /// left to libavformat (they are not a sign of truncation); only a sample past the end is.
    static func checkSampleTables(
        _ reader: ContainerReader,
        movieOffset: Int64,
        movieSize: Int64
    )
        throws(ContainerVerdictFailure) -> ContainerVerdict
    {
        guard movieSize <= maxMovieBytes else { return .ok }
        let movie = try reader.bytes(at: movieOffset, count: Int(movieSize))
        var trackNumber = 0
        let header = movie.count >= 16 && movie.be32(0) == 1 ? 16 : 8
        guard movie.count >= header else { return .ok }
        for track in children(of: movie, in: header..<movie.count) where track.type == "trak" {
            trackNumber += 1
            guard let media = child("mdia", of: movie, in: track.body),
                let info = child("minf", of: movie, in: media.body),
                let table = child("stbl", of: movie, in: info.body),
                let end = samplesEnd(movie, table: table.body)
            else { continue }
            if end > reader.size {
                return .truncated(
                    "Track \(trackNumber)'s sample table points to data up to byte \(end), but the file has "
                        + "\(reader.size) bytes: \(missing(end - reader.size))."
                )
            }
        }
        return .ok
    }

    /// A box found inside a parent: its four-character type and the range of its payload.
    struct Box {
        var type: String
        var body: Range<Int>
    }

    /// The boxes that tile `range` of `bytes`; stops at the first box that does not fit.
    static func children(of bytes: [UInt8], in range: Range<Int>) -> [Box] {
        var boxes: [Box] = []
        var offset = range.lowerBound
        while offset + 8 <= range.upperBound {
            var size = Int(bytes.be32(offset))
            var header = 8
            if size == 1 {
                guard offset + 16 <= range.upperBound else { break }
                let large = bytes.be64(offset + 8)
                guard large <= UInt64(range.upperBound - offset) else { break }
                size = Int(large)
                header = 16
            } else if size == 0 {
                size = range.upperBound - offset
            }
            guard size >= header, size <= range.upperBound - offset else { break }
            let type = String(decoding: bytes[(offset + 4)..<(offset + 8)], as: UTF8.self)
            boxes.append(Box(type: type, body: (offset + header)..<(offset + size)))
            offset += size
        }
        return boxes
    }

    static func child(_ type: String, of bytes: [UInt8], in range: Range<Int>) -> Box? {
        children(of: bytes, in: range).first { $0.type == type }
    }

    /// One past the last byte any chunk of the table `stbl` covers; nil when the tables are absent or do not
    /// parse. Arithmetic never traps: sums saturate at `Int64.max`.
    static func samplesEnd(_ bytes: [UInt8], table: Range<Int>) -> Int64? {
        let boxes = children(of: bytes, in: table)
        func find(_ type: String) -> Range<Int>? { boxes.first { $0.type == type }?.body }
        guard let offsets = chunkOffsets(bytes, stco: find("stco"), co64: find("co64")),
            let sizes = find("stsz"), let chunking = find("stsc")
        else { return nil }
        // stsz: version/flags, a default size (0: one entry per sample), the sample count.
        guard sizes.count >= 12 else { return nil }
        let defaultSize = Int64(bytes.be32(sizes.lowerBound + 4))
        let sampleCount = Int(bytes.be32(sizes.lowerBound + 8))
        let sizeTable = sizes.lowerBound + 12
        if defaultSize == 0, sampleCount > (sizes.count - 12) / 4 { return nil }
        func sampleSize(_ index: Int) -> Int64 {
            defaultSize != 0 ? defaultSize : Int64(bytes.be32(sizeTable + 4 * index))
        }
        // stsc: runs of (first chunk, samples per chunk, description index), first chunks counted from 1.
        guard chunking.count >= 8 else { return nil }
        let runCount = Int(bytes.be32(chunking.lowerBound + 4))
        guard runCount <= (chunking.count - 8) / 12 else { return nil }
        var end: Int64 = 0
        var sample = 0
        for run in 0..<runCount {
            let entry = chunking.lowerBound + 8 + 12 * run
            let first = Int(bytes.be32(entry))
            let perChunk = Int(bytes.be32(entry + 4))
            let next = run + 1 < runCount ? Int(bytes.be32(entry + 12)) : offsets.count + 1
            let upper = min(next, offsets.count + 1)
            guard first >= 1, next > first, first <= upper else { return nil }
            for chunk in first..<upper {
                var chunkEnd = offsets[chunk - 1]
                let take = min(perChunk, sampleCount - sample)
                if defaultSize != 0 {
                    // One multiply per chunk: a crafted table of 2^32 equal-sized samples costs no more than
                    // its chunk count, which the file's own size bounds.
                    let (bytes, productOverflow) = Int64(take).multipliedReportingOverflow(by: defaultSize)
                    let (sum, sumOverflow) = chunkEnd.addingReportingOverflow(bytes)
                    chunkEnd = productOverflow || sumOverflow ? Int64.max : sum
                    sample += take
                } else {
                    // One entry per sample: the loop is bounded by the stsz table, which lies inside the file.
                    for _ in 0..<take {
                        let (sum, overflow) = chunkEnd.addingReportingOverflow(sampleSize(sample))
                        chunkEnd = overflow ? Int64.max : sum
                        sample += 1
                    }
                }
                end = max(end, chunkEnd)
                if sample >= sampleCount { return end }
            }
        }
        return end
    }

    /// Chunk offsets from `stco` (32-bit) or `co64` (64-bit); nil when neither parses.
    private static func chunkOffsets(_ bytes: [UInt8], stco: Range<Int>?, co64: Range<Int>?) -> [Int64]? {
        if let stco, stco.count >= 8 {
            let count = Int(bytes.be32(stco.lowerBound + 4))
            guard count <= (stco.count - 8) / 4 else { return nil }
            return (0..<count).map { Int64(bytes.be32(stco.lowerBound + 8 + 4 * $0)) }
        }
        if let co64, co64.count >= 8 {
            let count = Int(bytes.be32(co64.lowerBound + 4))
            guard count <= (co64.count - 8) / 8 else { return nil }
            return (0..<count).map { Int64(clamping: bytes.be64(co64.lowerBound + 8 + 8 * $0)) }
        }
        return nil
    }
}
