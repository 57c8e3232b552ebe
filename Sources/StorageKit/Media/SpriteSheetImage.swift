/// A rendered sprite sheet: the JPEG grid and the geometry its WebVTT cues and record describe.
public struct SpriteSheetImage: Sendable, Equatable {
    /// The JPEG file's bytes: `columns` tiles per row, `rows` rows, unused tiles black.
    public var jpeg: [UInt8]
    /// Seconds between tiles.
    public var intervalSeconds: Double
    /// Tiles in the sheet.
    public var count: Int
    public var columns: Int
    public var tileWidth: Int
    public var tileHeight: Int
    /// The clip's duration the cues cover, in seconds.
    public var durationSeconds: Double

    /// Rows of tiles.
    public var rows: Int { (count + columns - 1) / max(columns, 1) }

    /// WebVTT whose cue `i` covers `[i × interval, (i + 1) × interval)` (the last ends with the clip) and
    /// points at its tile as `<imageName>#xywh=X,Y,W,H`.
    public func webVTT(imageName: String) -> String {
        var text = "WEBVTT\n"
        for index in 0..<count {
            let start = Double(index) * intervalSeconds
            var end = Double(index + 1) * intervalSeconds
            if index == count - 1, durationSeconds > start { end = durationSeconds }
            let x = (index % columns) * tileWidth
            let y = (index / columns) * tileHeight
            text += "\n\(Self.timestamp(start)) --> \(Self.timestamp(end))\n"
            text += "\(imageName)#xywh=\(x),\(y),\(tileWidth),\(tileHeight)\n"
        }
        return text
    }

    /// `HH:MM:SS.mmm`.
    static func timestamp(_ seconds: Double) -> String {
        let millis = Int((max(seconds, 0) * 1000).rounded())
        let (h, m, s, ms) = (millis / 3_600_000, millis / 60_000 % 60, millis / 1000 % 60, millis % 1000)
        func pad(_ v: Int, _ width: Int) -> String {
            let digits = String(v)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(pad(h, 2)):\(pad(m, 2)):\(pad(s, 2)).\(pad(ms, 3))"
    }
}
