extension ContainerCheck {
    /// `75B22630-668E-11CF-A6D9-00AA0062CE6C` as stored (little-endian fields): the ASF Header Object.
    private static let asfHeaderGUID: [UInt8] = [
        0x30, 0x26, 0xB2, 0x75, 0x8E, 0x66, 0xCF, 0x11, 0xA6, 0xD9, 0x00, 0xAA, 0x00, 0x62, 0xCE, 0x6C,
    ]
    /// `75B22636-668E-11CF-A6D9-00AA0062CE6C`: the ASF Data Object.
    private static let asfDataGUID: [UInt8] = [
        0x36, 0x26, 0xB2, 0x75, 0x8E, 0x66, 0xCF, 0x11, 0xA6, 0xD9, 0x00, 0xAA, 0x00, 0x62, 0xCE, 0x6C,
    ]

    /// ASF/WMV: the Header Object, then the Data Object, whose stated size (0 while a live stream is being
    /// written) must fit in the file.
    static func checkASF(_ reader: ContainerReader) throws(ContainerVerdictFailure) -> ContainerVerdict {
        let header = try reader.bytes(at: 0, count: 24)
        guard header.count == 24, Array(header[0..<16]) == asfHeaderGUID else {
            return .notMedia("The file does not start with an ASF header object.")
        }
        let headerSize = littleEndian64(header, at: 16)
        guard headerSize >= 30, headerSize <= UInt64(Int64.max) else {
            return .notMedia("The ASF header object has an invalid size \(headerSize).")
        }
        let dataOffset = Int64(headerSize)
        guard dataOffset + 24 <= reader.size else {
            return .truncated(
                "The ASF header needs \(dataOffset + 24) bytes with its data object's header, but the file has "
                    + "\(reader.size): \(missing(dataOffset + 24 - reader.size))."
            )
        }
        let data = try reader.bytes(at: dataOffset, count: 24)
        guard Array(data[0..<16]) == asfDataGUID else {
            return .notMedia("No ASF data object follows the header at offset \(dataOffset).")
        }
        let dataSize = littleEndian64(data, at: 16)
        guard dataSize != 0 else { return .ok }  // a stream still being written states no size
        let (end, overflow) = dataOffset.addingReportingOverflow(Int64(clamping: dataSize))
        guard overflow || end > reader.size else { return .ok }
        return .truncated(
            "The ASF data object at offset \(dataOffset) needs \(dataSize) bytes but the file ends after "
                + "\(reader.size - dataOffset): \(missing(overflow ? Int64.max : end - reader.size))."
        )
    }

    private static func littleEndian64(_ bytes: [UInt8], at index: Int) -> UInt64 {
        bytes[index..<(index + 8)].reversed().reduce(0) { $0 << 8 | UInt64($1) }
    }
}
