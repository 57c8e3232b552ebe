import Testing

@testable import StorageKit

/// Numbers read from a file never trap and never cost work out of proportion to the file's size.
struct CraftedNumbersTests {
    /// A big-endian box: size, type, payload.
    func box(_ type: String, _ payload: [UInt8]) -> [UInt8] {
        let size = UInt32(8 + payload.count)
        return [UInt8(size >> 24), UInt8((size >> 16) & 0xFF), UInt8((size >> 8) & 0xFF), UInt8(size & 0xFF)]
            + Array(type.utf8) + payload
    }

    func be32(_ v: UInt32) -> [UInt8] {
        [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)]
    }

    /// An `stbl` payload: one chunk at `offset`, all samples in it, each `sampleSize` bytes, `count` samples.
    func sampleTable(offset: UInt32, sampleSize: UInt32, count: UInt32) -> [UInt8] {
        let stco = box("stco", [0, 0, 0, 0] + be32(1) + be32(offset))
        let stsz = box("stsz", [0, 0, 0, 0] + be32(sampleSize) + be32(count))
        let stsc = box("stsc", [0, 0, 0, 0] + be32(1) + be32(1) + be32(count) + be32(1))
        return stco + stsz + stsc
    }

    @Test(.timeLimit(.minutes(3)))
    func aTableOfFourBillionEqualSamplesIsAddedUpInOneStep() {
        let table = sampleTable(offset: 100, sampleSize: 1, count: UInt32.max)
        let end = ContainerCheck.samplesEnd(table, table: 0..<table.count)
        #expect(end == 100 + Int64(UInt32.max))
    }

    @Test func sampleSizesThatOverflowSaturate() {
        let table = sampleTable(offset: UInt32.max, sampleSize: UInt32.max, count: UInt32.max)
        #expect(ContainerCheck.samplesEnd(table, table: 0..<table.count) == Int64.max)
    }

    @Test(arguments: [
        (Int64(0), 1e10, Int32(1), Int32.max),
        (Int64.max - 5, 1e3, Int32(1), Int32(1000)),
        (Int64.min + 5, -1e3, Int32(1), Int32(1000)),
        (Int64(0), Double.infinity, Int32(1), Int32(1000)),
        (Int64(0), -Double.greatestFiniteMagnitude, Int32(1), Int32.max),
    ])
    func seekTargetsFromAbsurdDurationsAndTimeBasesClamp(start: Int64, seconds: Double, num: Int32, den: Int32) {
        // Must not trap; the result stays on the side the arithmetic points to.
        let t = VideoFrameReader.offset(start, bySeconds: seconds, timeBase: (num: num, den: den))
        if seconds.isFinite { #expect(seconds > 0 ? t >= start : t <= start) } else { #expect(t == start) }
    }

    @Test func ordinarySeekTargetsAreExact() {
        #expect(VideoFrameReader.offset(1000, bySeconds: 1.5, timeBase: (num: 1, den: 90_000)) == 1000 + 135_000)
        #expect(VideoFrameReader.offset(0, bySeconds: 2, timeBase: (num: 1001, den: 30_000)) == 59)
    }
}
