import CFFmpeg

/// Reads the SPEC's descriptive metadata from container and stream tags (QuickTime's
/// `com.apple.quicktime.*` keys, the `©mak`/`©mod`/`©xyz` atoms libavformat names `make`, `model` and
/// `location`, Matroska's `DATE_UTC` that it names `creation_time`) and the video's picture format.
enum MediaTags {
    /// Fills `pixelFormat`, `bitDepth`, `colorTransfer`, `creationTime`, `make`, `model` and `location` where
    /// the media says so.
    static func read(_ input: MediaInput, video: UnsafeMutablePointer<AVStream>?, into metadata: inout MediaMetadata) {
        if let video, let parameters = video.pointee.codecpar?.pointee {
            let format = AVPixelFormat(rawValue: parameters.format)
            if parameters.format >= 0, let name = av_get_pix_fmt_name(format) {
                metadata.pixelFormat = String(cString: name)
                if let descriptor = av_pix_fmt_desc_get(format), descriptor.pointee.comp.0.depth > 0 {
                    metadata.bitDepth = Int(descriptor.pointee.comp.0.depth)
                }
            }
            if metadata.bitDepth == nil, parameters.bits_per_raw_sample > 0 {
                metadata.bitDepth = Int(parameters.bits_per_raw_sample)
            }
            let transfer = parameters.color_trc
            if transfer != AVCOL_TRC_UNSPECIFIED, transfer != AVCOL_TRC_RESERVED0, transfer != AVCOL_TRC_RESERVED,
                let name = av_color_transfer_name(transfer)
            {
                metadata.colorTransfer = String(cString: name)
            }
        }
        let dictionaries = [input.context.pointee.metadata, video?.pointee.metadata]
        func tag(_ keys: String...) -> String? {
            for dictionary in dictionaries {
                guard let dictionary else { continue }
                for key in keys {
                    if let entry = av_dict_get(dictionary, key, nil, 0), let value = entry.pointee.value {
                        let text = String(cString: value).trimmingSpaces
                        if !text.isEmpty { return text }
                    }
                }
            }
            return nil
        }
        // QuickTime's creationdate is when the camera recorded (with its UTC offset); creation_time is
        // when the file was written, which for cameras is the same moment.
        metadata.creationTime = (tag("com.apple.quicktime.creationdate") ?? tag("creation_time"))
            .flatMap(ISO8601UTC.normalize)
        metadata.make = tag("com.apple.quicktime.make", "make", "com.android.manufacturer")
        metadata.model = tag("com.apple.quicktime.model", "model", "com.android.model")
        metadata.location = tag("com.apple.quicktime.location.ISO6709", "location", "com.android.location")
            .flatMap(normalizedLocation)
    }

    /// An ISO 6709 string as given (`+48.8577+002.2950/`, with altitude `+35.000/` or without the final `/`
    /// added), nil when it is not one.
    static func normalizedLocation(_ text: String) -> String? {
        let body = text.hasSuffix("/") ? String(text.dropLast()) : text
        guard let first = body.first, first == "+" || first == "-",
            body.allSatisfy({ "+-.0123456789".contains($0) }),
            body.filter({ $0 == "+" || $0 == "-" }).count >= 2
        else { return nil }
        return body + "/"
    }
}

extension String {
    /// The text without leading and trailing spaces, tabs, newlines and NULs.
    fileprivate var trimmingSpaces: String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" || $0 == "\0" }
        guard let start = firstIndex(where: { !isSpace($0) }), let end = lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(self[start...end])
    }
}
