import CFFmpeg

/// The one table of the containers ingestd knows by extension: each extension's MIME type (SPEC "Asset record"),
/// the libavformat demuxers whose content it may hold, and the structural check `ContainerCheck` applies.
///
/// Extensions outside the table are still accepted when an operator allows them and libavformat's own
/// knowledge agrees: the demuxer that opened the file lists the extension (`av_match_ext` on its `extensions`).
public enum MediaFormats {
    /// The structural check that applies to a container family.
    enum Structure: Sendable {
        /// ISO-BMFF / QuickTime boxes plus the sample tables of every track.
        case quickTime
        /// RIFF `AVI ` plus OpenDML `AVIX` chunks.
        case riffAVI
        /// EBML header plus the Segment's size.
        case matroska
        /// Matroska whose EBML DocType says `webm`.
        case webm
        /// 188- or 192-byte transport stream packets.
        case mpegTS
        /// MPEG program stream packs and PES packets at the end of the file.
        case programStream
        /// FLV tags and their trailing sizes at the end of the file.
        case flv
        /// ASF header and data objects.
        case asf
        /// No structural check beyond what libavformat does while probing.
        case unchecked
    }

    struct Entry: Sendable {
        /// The SPEC's MIME type.
        let mimeType: String
        /// Short names of the demuxers whose content the extension promises (any name in `iformat->name`).
        let demuxers: [String]
        let structure: Structure
    }

    /// Extension (lower case, no dot) → what it promises. Each container family names its demuxers and structural
    /// check once, then its extensions with their MIME types. `m4v`, `3gp`, `mts`, `m2ts`, `mpg`, `vob` and `wmv`
    /// are the aliases FFmpeg's extension lists do not cover.
    static let table: [String: Entry] = {
        var table: [String: Entry] = [:]
        func family(_ demuxers: [String], _ structure: Structure, _ mimeTypes: [String: String]) {
            for (ext, mimeType) in mimeTypes {
                table[ext] = Entry(mimeType: mimeType, demuxers: demuxers, structure: structure)
            }
        }
        family(
            ["mov"],
            .quickTime,
            [
                "mp4": "video/mp4", "mov": "video/quicktime", "m4v": "video/x-m4v", "3gp": "video/3gpp",
                "3g2": "video/3gpp2",
            ]
        )
        family(["avi"], .riffAVI, ["avi": "video/x-msvideo"])
        family(["matroska"], .matroska, ["mkv": "video/x-matroska"])
        family(["matroska"], .webm, ["webm": "video/webm"])
        family(
            ["mpegts"],
            .mpegTS,
            ["ts": "video/mp2t", "mts": "video/mp2t", "m2ts": "video/mp2t", "m2t": "video/mp2t"]
        )
        family(
            ["mpeg", "mpegvideo"],
            .programStream,
            ["mpg": "video/mpeg", "mpeg": "video/mpeg", "vob": "video/mpeg"]
        )
        family(["flv"], .flv, ["flv": "video/x-flv"])
        family(["asf"], .asf, ["wmv": "video/x-ms-wmv", "asf": "video/x-ms-asf"])
        family(["ogg"], .unchecked, ["ogv": "video/ogg"])
        family(["mxf"], .unchecked, ["mxf": "application/mxf"])
        return table
    }()

    /// The SPEC's MIME type for an extension (any case, with or without a dot), nil if the table lacks it.
    public static func mimeType(forExtension ext: String) -> String? {
        table[normalized(ext)]?.mimeType
    }

    /// True when libavformat's demuxer `formatName` (e.g. `matroska,webm`) is what a file with extension `ext`
    /// should contain: the table's demuxers for the extension, or a demuxer whose own extension list names it.
    public static func formatMatchesExtension(formatName: String, ext: String) -> Bool {
        let e = normalized(ext)
        guard !e.isEmpty, !formatName.isEmpty else { return false }
        let list = formatName.split(separator: ",").map { $0.lowercased() }
        let names = Set(list)
        if let entry = table[e] {
            return entry.demuxers.contains { names.contains($0) }
        }
        // Unknown to the table: the demuxer that read the file is named after the extension (`gif`, which lists
        // no extensions), or names it among its own.
        if names.contains(e) { return true }
        guard let first = list.first, let format = av_find_input_format(first),
            let extensions = format.pointee.extensions
        else { return false }
        return av_match_ext("file." + e, extensions) != 0
    }

    /// Whether `ext` is the extension of a container this build's libavformat reads: one of the table's, the
    /// name of a demuxer, or in a demuxer's extension list. `ALLOWED_EXTENSIONS` may hold only these.
    public static func isContainerExtension(_ ext: String) -> Bool {
        let e = normalized(ext)
        guard !e.isEmpty else { return false }
        if table[e] != nil { return true }
        var opaque: UnsafeMutableRawPointer? = nil
        while let format = av_demuxer_iterate(&opaque) {
            let name = String(cString: format.pointee.name)
            if name.split(separator: ",").contains(where: { $0 == e }) { return true }
            if let extensions = format.pointee.extensions, av_match_ext("file." + e, extensions) != 0 { return true }
        }
        return false
    }

    /// The demuxer that read a file whose probe named its format `formatName` (libavformat lists a demuxer's
    /// names with commas, `mov,mp4,m4a,3gp,3g2,mj2`; the first finds it again); nil when there is none.
    public static func demuxer(ofFormatName formatName: String) -> String? {
        formatName.split(separator: ",").first.map(String.init)
    }

    /// The structural check for an extension.
    static func structure(forExtension ext: String) -> Structure {
        table[normalized(ext)]?.structure ?? .unchecked
    }

    static func normalized(_ ext: String) -> String {
        (ext.hasPrefix(".") ? String(ext.dropFirst()) : ext).lowercased()
    }
}
