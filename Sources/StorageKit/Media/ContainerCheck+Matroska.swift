extension ContainerCheck {
    private static let ebmlID: UInt32 = 0x1A45_DFA3
    private static let segmentID: UInt32 = 0x1853_8067
    /// Top-level elements that may come before the Segment.
    private static let voidID: UInt32 = 0xEC
    private static let crcID: UInt32 = 0xBF

    private static let docTypeID: UInt32 = 0x4282

    /// Matroska/WebM: an EBML header, then a Segment whose stated size must fit in the file. A Segment of
    /// unknown size (all size bits set, as live recorders and browsers write it) is allowed. With `docType`,
    /// the header's DocType must be that (`webm`: a Matroska file named `.webm` is not WebM, and browsers do
    /// not play it as such).
    static func checkMatroska(
        _ reader: ContainerReader,
        docType required: String? = nil
    )
        throws(ContainerVerdictFailure) -> ContainerVerdict
    {
        var offset: Int64 = 0
        var first = true
        while offset < reader.size {
            let header = try reader.bytes(at: offset, count: 12)
            guard let id = elementID(header), let sized = elementSize(header, at: id.length) else {
                if first { return .notMedia("The file does not start with a Matroska/WebM (EBML) header.") }
                return header.count < 12 && offset + Int64(header.count) == reader.size
                    ? .truncated("The file ends inside a Matroska element header at offset \(offset).")
                    : .notMedia("Invalid Matroska element at offset \(offset).")
            }
            if first && id.value != ebmlID {
                return .notMedia("The file does not start with a Matroska/WebM (EBML) header.")
            }
            first = false
            let dataStart = offset + Int64(id.length + sized.length)
            guard let size = sized.value else {
                // Unknown size: only the Segment (or a Cluster) may have it; the Segment runs to the end.
                return id.value == segmentID ? .ok : .notMedia("Matroska element at offset \(offset) has no size.")
            }
            let (end, overflow) = dataStart.addingReportingOverflow(size)
            if overflow || end > reader.size {
                let name = id.value == segmentID ? "The Matroska segment" : "The Matroska element"
                return .truncated(
                    "\(name) at offset \(offset) needs \(size) bytes but the file ends after "
                        + "\(reader.size - dataStart): \(missing(overflow ? Int64.max : end - reader.size))."
                )
            }
            if id.value == ebmlID, let required {
                let found = docType(reader, at: dataStart, size: size)
                guard found == required else {
                    return .notMedia(
                        "The file is Matroska (DocType \(String(reflecting: found ?? "matroska"))), not WebM: "
                            + "name it .mkv, or write it as WebM."
                    )
                }
            }
            if id.value == segmentID { return .ok }
            guard id.value == ebmlID || id.value == voidID || id.value == crcID else {
                return .notMedia("Unexpected Matroska element 0x\(String(id.value, radix: 16)) before the segment.")
            }
            offset = end
        }
        return .truncated("The file has a Matroska header but no segment (its content is missing).")
    }

    /// The DocType string among the children of the EBML header whose body is `size` bytes at `offset` (the
    /// first 256 bytes are looked at; real headers take about 40); nil when it has none.
    private static func docType(_ reader: ContainerReader, at offset: Int64, size: Int64) -> String? {
        guard let body = try? reader.bytes(at: offset, count: Int(min(size, 256))) else { return nil }
        var index = 0
        while index < body.count {
            let rest = Array(body[index...])
            guard let id = elementID(rest), let sized = elementSize(rest, at: id.length), let length = sized.value
            else { return nil }
            let start = index + id.length + sized.length
            let (end, overflow) = start.addingReportingOverflow(Int(clamping: length))
            guard !overflow, end <= body.count else { return nil }
            if id.value == docTypeID {
                return String(decoding: body[start..<end].prefix { $0 != 0 }, as: UTF8.self)
            }
            index = end
        }
        return nil
    }

    /// An EBML element ID (1 to 4 bytes, marker bits kept) at the start of `bytes`.
    private static func elementID(_ bytes: [UInt8]) -> (value: UInt32, length: Int)? {
        guard let lead = bytes.first, lead != 0 else { return nil }
        let length = lead.leadingZeroBitCount + 1
        guard length <= 4, bytes.count >= length else { return nil }
        return (bytes[0..<length].reduce(0) { $0 << 8 | UInt32($1) }, length)
    }

    /// An EBML variable-length size at `index`: its value (nil for "unknown", all value bits set) and length.
    private static func elementSize(_ bytes: [UInt8], at index: Int) -> (value: Int64?, length: Int)? {
        guard index < bytes.count, bytes[index] != 0 else { return nil }
        let length = bytes[index].leadingZeroBitCount + 1
        guard index + length <= bytes.count else { return nil }
        var value = UInt64(bytes[index] & (0xFF >> length))
        for byte in bytes[(index + 1)..<(index + length)] { value = value << 8 | UInt64(byte) }
        let allOnes: UInt64 = (1 << (7 * UInt64(length))) - 1
        if value == allOnes { return (nil, length) }
        guard value <= UInt64(Int64.max) else { return nil }
        return (Int64(value), length)
    }
}
