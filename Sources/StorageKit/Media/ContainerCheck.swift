#if canImport(Glibc)
import Glibc
#endif

/// A cheap structural check of a container with a few `pread`s (headers and index tables, never the
/// payload), catching half-copied files that libavformat would still open:
/// - MP4/MOV: top-level boxes must tile the file exactly and include `moov`, and every track's sample tables
///   (`stco`/`co64` chunk offsets plus `stsz` sizes) must point inside the file;
/// - AVI: the RIFF chunk (plus OpenDML `AVIX` chunks) must end exactly at the end of the file;
/// - Matroska/WebM: the Segment must fit in the file (a Segment of unknown size, as live recorders write it,
///   is allowed);
/// - MPEG-TS/M2TS: 188- or 192-byte packets with their sync bytes, and no cut final packet;
/// - MPEG-PS: the packs and PES packets after the last pack header must fit;
/// - FLV: the file must end with the size of a whole tag; ASF/WMV: the data object must fit.
/// Truncation details say how many bytes are missing.
public enum ContainerCheck {
    /// Checks the file open at `fd`, `size` bytes long, against the structure its extension `ext` promises
    /// (see ``MediaFormats``; containers without a structural check give `.ok`). The file offset of `fd` is
    /// not changed. A failed or short read counts as `.truncated`, since the file no longer has the bytes its
    /// size claimed.
    public static func check(fd: Int32, size: Int64, ext: String) -> ContainerVerdict {
        guard size > 0 else { return .notMedia("The file is empty.") }
        let reader = ContainerReader(fd: fd, size: size)
        let verdict = checkStructure(reader, ext: ext)
        // A file that is not the promised container from its first byte: say what it looks like instead.
        guard case .notMedia(let message) = verdict, message.hasPrefix(Self.wrongStart),
            let head = try? reader.bytes(at: 0, count: 256)
        else { return verdict }
        if let kind = ContentSniffer.kind(of: head) { return .notMedia(message + " It looks like \(kind).") }
        return .notMedia(message + " Its first bytes are \(ContentSniffer.hex(head)).")
    }

    /// How every refusal of a file that is not the promised container from its first byte begins.
    static let wrongStart = "The file does not start with"

    /// The check of `ext`'s container; a read that fails on the way is the verdict (``ContainerVerdictFailure``).
    private static func checkStructure(_ reader: ContainerReader, ext: String) -> ContainerVerdict {
        do throws(ContainerVerdictFailure) {
            switch MediaFormats.structure(forExtension: ext) {
            case .quickTime: return try checkBoxes(reader)
            case .riffAVI: return checkRIFF(reader)
            case .matroska: return try checkMatroska(reader)
            case .webm: return try checkMatroska(reader, docType: "webm")
            case .mpegTS: return try checkTransportStream(reader)
            case .programStream: return try checkProgramStream(reader)
            case .flv: return try checkFLV(reader)
            case .asf: return try checkASF(reader)
            case .unchecked: return .ok
            }
        } catch {
            return error.verdict
        }
    }

    // Box types a QuickTime/ISO-BMFF file may begin with.
    private static let leadingBoxTypes: Set<String> = [
        "ftyp", "moov", "mdat", "free", "skip", "wide", "pnot", "uuid", "styp", "sidx", "junk", "PICT",
    ]

    private static func checkBoxes(_ reader: ContainerReader) throws(ContainerVerdictFailure) -> ContainerVerdict {
        var offset: Int64 = 0
        var movie: (offset: Int64, size: Int64)?
        var header = [UInt8](repeating: 0, count: 16)
        while offset < reader.size {
            let available = min(Int64(8), reader.size - offset)
            if available < 8 {
                return offset == 0
                    ? .notMedia("The file is \(reader.size) bytes, too short for an MP4/MOV box header.")
                    : .truncated("The file ends inside a box header at offset \(offset).")
            }
            if let failure = reader.read(into: &header, count: 8, at: offset) { return failure }
            let size32 = Int64(header.bigEndianUInt32(at: 0))
            let typeBytes = Array(header[4..<8])
            let type = String(decoding: typeBytes, as: UTF8.self)
            let printable = typeBytes.allSatisfy { $0 >= 0x20 && $0 <= 0x7E }
            if offset == 0 && (!printable || !leadingBoxTypes.contains(type)) {
                return .notMedia("The file does not start with an MP4/MOV box.")
            }
            if !printable {
                // A zero-filled tail is what a copier that preallocates the file leaves behind.
                if size32 == 0 && typeBytes.allSatisfy({ $0 == 0 }) {
                    return .truncated("The file is zero-filled from offset \(offset) on.")
                }
                return .notMedia("Invalid box type \(describe(typeBytes)) at offset \(offset).")
            }
            var boxSize: Int64
            switch size32 {
            case 0:
                boxSize = reader.size - offset  // the last box, running to the end of the file
            case 1:
                guard reader.size - offset >= 16 else {
                    return .truncated("The file ends inside the 64-bit size of box '\(type)' at offset \(offset).")
                }
                if let failure = reader.read(into: &header, count: 8, at: offset + 8) { return failure }
                let large = header.bigEndianUInt64(at: 0)
                guard large >= 16, large <= UInt64(Int64.max) else {
                    return .notMedia("Box '\(type)' at offset \(offset) has an invalid 64-bit size \(large).")
                }
                boxSize = Int64(large)
            default:
                guard size32 >= 8 else {
                    return .notMedia("Box '\(type)' at offset \(offset) has an invalid size \(size32).")
                }
                boxSize = size32
            }
            let (end, overflow) = offset.addingReportingOverflow(boxSize)
            if overflow || end > reader.size {
                return .truncated(
                    "Box '\(type)' at offset \(offset) needs \(boxSize) bytes but the file ends after "
                        + "\(reader.size - offset): \(missing(boxSize - (reader.size - offset)))."
                )
            }
            if type == "moov", movie == nil { movie = (offset, boxSize) }
            offset = end
        }
        guard let movie else {
            return .truncated("The file has no 'moov' box (its index is missing, as in an unfinished copy).")
        }
        return try checkSampleTables(reader, movieOffset: movie.offset, movieSize: movie.size)
    }

    /// "N bytes are missing" (or "1 byte is missing").
    static func missing(_ count: Int64) -> String {
        count == 1 ? "1 byte is missing" : "\(count) bytes are missing"
    }

    private static func checkRIFF(_ reader: ContainerReader) -> ContainerVerdict {
        var header = [UInt8](repeating: 0, count: 12)
        var offset: Int64 = 0
        var chunkIndex = 0
        while offset < reader.size {
            let available = Int(min(Int64(12), reader.size - offset))
            if let failure = reader.read(into: &header, count: available, at: offset) { return failure }
            let expectedForm: [UInt8] = chunkIndex == 0 ? Array("AVI ".utf8) : Array("AVIX".utf8)
            let expected = Array("RIFF".utf8) + [0, 0, 0, 0] + expectedForm
            let matchesSoFar = (0..<available).allSatisfy { index in
                (4..<8).contains(index) || header[index] == expected[index]
            }
            guard matchesSoFar else {
                return chunkIndex == 0
                    ? .notMedia("The file does not start with an AVI RIFF header.")
                    : .notMedia("Unexpected data at offset \(offset) after the AVI's RIFF chunk.")
            }
            guard available == 12 else {
                return .truncated("The file ends inside a RIFF header at offset \(offset).")
            }
            let length = Int64(header.littleEndianUInt32(at: 4))
            guard length >= 4 else {
                return .notMedia("RIFF chunk at offset \(offset) has an invalid length \(length).")
            }
            // RIFF chunks are padded to an even length.
            let end = offset + 8 + length + (length & 1)
            if end > reader.size && offset + 8 + length == reader.size {
                offset = reader.size  // a missing final pad byte is tolerated, as players do
                break
            }
            guard end <= reader.size else {
                return .truncated(
                    "RIFF chunk at offset \(offset) needs \(8 + length) bytes but the file ends after "
                        + "\(reader.size - offset): \(missing(offset + 8 + length - reader.size))."
                )
            }
            offset = end
            chunkIndex += 1
        }
        return .ok
    }

    static func describe(_ bytes: [UInt8]) -> String {
        bytes.map { byte in
            (0x20...0x7E).contains(byte) ? String(UnicodeScalar(byte)) : "\\x" + String(byte, radix: 16)
        }.joined()
    }
}

extension Array where Element == UInt8 {
    fileprivate func bigEndianUInt32(at index: Int) -> UInt32 {
        self[index..<index + 4].reduce(0) { $0 << 8 | UInt32($1) }
    }

    fileprivate func bigEndianUInt64(at index: Int) -> UInt64 {
        self[index..<index + 8].reduce(0) { $0 << 8 | UInt64($1) }
    }

    fileprivate func littleEndianUInt32(at index: Int) -> UInt32 {
        self[index..<index + 4].reversed().reduce(0) { $0 << 8 | UInt32($1) }
    }
}
