/// Names what a file's first bytes look like, for the detail of a `not_media` refusal: a user who dropped a
/// renamed FLV as `.mp4`, or a saved web page, learns what the file is instead of reading stray bytes.
enum ContentSniffer {
    /// What `head` (the file's first bytes, 64 are plenty) looks like, with an article (`an FLV video`,
    /// `text`), or nil when it matches nothing known.
    static func kind(of head: [UInt8]) -> String? {
        func starts(_ magic: [UInt8], at offset: Int = 0) -> Bool {
            head.count >= offset + magic.count && Array(head[offset..<offset + magic.count]) == magic
        }
        func ascii(_ text: String, at offset: Int = 0) -> Bool { starts(Array(text.utf8), at: offset) }
        if ascii("ftyp", at: 4) || ascii("moov", at: 4) || ascii("mdat", at: 4) { return "an MP4/MOV video" }
        if starts([0x1A, 0x45, 0xDF, 0xA3]) { return "a Matroska or WebM video" }
        if ascii("RIFF") && ascii("AVI ", at: 8) { return "an AVI video" }
        if ascii("RIFF") && ascii("WAVE", at: 8) { return "a WAV audio file" }
        if ascii("FLV") { return "an FLV video" }
        if starts([0x30, 0x26, 0xB2, 0x75, 0x8E, 0x66, 0xCF, 0x11]) { return "an ASF (WMV/WMA) file" }
        if starts([0x00, 0x00, 0x01, 0xBA]) { return "an MPEG program stream" }
        if starts([0x47]) && starts([0x47], at: 188) { return "an MPEG transport stream" }
        if starts([0x47], at: 4) && starts([0x47], at: 196) { return "an MPEG transport stream (M2TS)" }
        if ascii("ID3") || starts([0xFF, 0xFB]) || starts([0xFF, 0xF3]) { return "an MP3 audio file" }
        if ascii("OggS") { return "an Ogg file" }
        if ascii("fLaC") { return "a FLAC audio file" }
        if starts([0xFF, 0xD8, 0xFF]) { return "a JPEG image" }
        if starts([0x89, 0x50, 0x4E, 0x47]) { return "a PNG image" }
        if ascii("GIF8") { return "a GIF image" }
        if ascii("%PDF") { return "a PDF document" }
        if ascii("PK") && (starts([0x03, 0x04], at: 2) || starts([0x05, 0x06], at: 2)) { return "a ZIP archive" }
        if starts([0x1F, 0x8B]) { return "a gzip archive" }
        if starts([0x7F, 0x45, 0x4C, 0x46]) { return "an executable (ELF)" }
        if !head.isEmpty, Self.isText(head) { return "text" }
        return nil
    }

    /// Whether `bytes` read as text: UTF-8 without control characters other than tab, line and page breaks (the
    /// last character may be cut short).
    static func isText(_ bytes: [UInt8]) -> Bool {
        var trimmed = bytes[...]
        // A multi-byte character cut at the end of the sample is still text.
        while let last = trimmed.last, last & 0xC0 == 0x80 || last >= 0xC0, trimmed.count > bytes.count - 4 {
            trimmed = trimmed.dropLast()
        }
        guard String(validating: trimmed, as: UTF8.self) != nil else { return false }
        return trimmed.allSatisfy { $0 >= 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D || $0 == 0x0C }
    }

    /// `head`'s first bytes in hex (`00 00 00 05 46 4c`), for a file that matches nothing known.
    static func hex(_ head: [UInt8], count: Int = 8) -> String {
        head.prefix(count).map { byte in
            let digits = String(byte, radix: 16)
            return digits.count == 1 ? "0" + digits : digits
        }.joined(separator: " ")
    }
}
