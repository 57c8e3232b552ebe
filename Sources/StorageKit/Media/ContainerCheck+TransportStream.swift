extension ContainerCheck {
    private static let syncByte: UInt8 = 0x47
    /// Evenly spread packets whose sync byte is checked besides the first ones and the last.
    private static let sampledPackets: Int64 = 16

    /// MPEG-TS (188-byte packets) or M2TS/AVCHD (192: a 4-byte timestamp, then the packet): the packet size is
    /// found from the sync bytes of the first packets; the file must hold whole packets (a cut final packet
    /// is the mark of a half-copied file) whose sync bytes stay aligned at sampled places and at the end.
    static func checkTransportStream(_ reader: ContainerReader) throws(ContainerVerdictFailure) -> ContainerVerdict {
        let head = try reader.bytes(at: 0, count: 3 * 192)
        func synced(_ packetSize: Int, _ syncOffset: Int) -> Bool {
            let packets = min(3, max(1, head.count / packetSize))
            return (0..<packets).allSatisfy { index in
                let at = index * packetSize + syncOffset
                return at < head.count && head[at] == syncByte
            }
        }
        let layout: (packet: Int64, sync: Int64)
        if synced(188, 0) {
            layout = (188, 0)
        } else if synced(192, 4) {
            layout = (192, 4)
        } else {
            return .notMedia("The file does not start with MPEG transport stream packets (no 0x47 sync bytes).")
        }
        let whole = reader.size / layout.packet
        let cut = reader.size % layout.packet
        if whole == 0 || cut != 0 {
            return .truncated(
                "The file ends \(cut) bytes into its last \(layout.packet)-byte transport packet (packet "
                    + "\(whole + 1)): \(missing(layout.packet - cut))."
            )
        }
        var checked = Set<Int64>()
        let step = max(1, whole / sampledPackets)
        for index in Array(stride(from: Int64(0), to: whole, by: Int(step))) + [whole - 1]
        where checked.insert(index).inserted {
            let offset = index * layout.packet + layout.sync
            var byte: [UInt8] = [0]
            if let failure = reader.read(into: &byte, count: 1, at: offset) { return failure }
            if byte[0] != syncByte {
                return .notMedia(
                    "The \(layout.packet)-byte transport packets lose their alignment before offset \(offset) "
                        + "(no sync byte there): the file is damaged."
                )
            }
        }
        return .ok
    }
}
