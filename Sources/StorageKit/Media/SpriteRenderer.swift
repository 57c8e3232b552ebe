import CFFmpeg
import IngestConfig

/// Renders an asset's preview sprite sheet in-process: one frame every interval, found by seeking near the
/// tile's time and decoding only keyframes (`skip_frame` = non-key), so a long file is never decoded whole.
/// Tiles are `SpritePlan.tileWidth` wide and keep the displayed aspect (rotation and sample aspect applied);
/// the grid is `SpritePlan.columns` wide and encoded as one JPEG.
public struct SpriteRenderer: Sendable {
    /// Tile width in pixels.
    public var tileWidth: Int
    /// Tiles per row.
    public var columns: Int

    /// Makes a renderer of `columns`-wide grids of `tileWidth`-pixel tiles.
    public init(tileWidth: Int = SpritePlan.tileWidth, columns: Int = SpritePlan.columns) {
        self.tileWidth = max(2, tileWidth / 2 * 2)
        self.columns = max(1, columns)
    }

    /// Renders the sheet of the video at `path` with frames `interval` apart.
    ///
    /// - Parameters:
    ///   - displayName: the file as the user named it; error details speak of it, never of `path`. Defaults
    ///     to `path`'s last component.
    ///   - durationHint: the duration from an earlier probe, in seconds; read from the file when nil.
    ///   - shouldAbort: polled during I/O and between tiles; returning true stops the work (`.interrupted`).
    ///   - formatName: libavformat's name for the container from an earlier probe; its demuxer then reads the
    ///     file without probing it again. Probed when nil.
    /// - Returns: nil when `interval` is `.none`.
    /// - Throws: `.notMedia`, `.noVideo`, `.decodeFailed` (no frame decodes), `.interrupted`, `.timedOut`.
    public func render(
        path: String,
        displayName: String? = nil,
        interval: SpriteInterval,
        durationHint: Double? = nil,
        shouldAbort: @escaping @Sendable () -> Bool = { false },
        timeLimit: Duration? = .seconds(600),
        formatName: String? = nil
    ) throws(MediaError) -> SpriteSheetImage? {
        let interrupter = Interrupter(shouldAbort: shouldAbort, timeLimit: timeLimit)
        let input = try MediaInput(path: path, displayName: displayName, interrupter: interrupter, format: formatName)
        let stream = try input.requireVideoStream()
        let duration = durationHint ?? input.durationSeconds ?? 0
        guard let layout = SpritePlan.layout(interval, duration: duration) else { return nil }
        let rotation = DisplayRotation.clockwiseDegrees(of: stream)
        // Keyframes are decoded one at a time after a seek: frame threads would only add latency.
        let decoder = try StreamDecoder(stream: stream, threads: 1)
        decoder.context.pointee.skip_frame = AVDISCARD_NONKEY
        let reader = try VideoFrameReader(input: input, stream: stream, decoder: decoder)

        // MPEG-TS and MPEG-PS seek by bisecting DTS and land on any packet, usually not a keyframe.
        let landsAnywhere = input.context.pointee.iformat.pointee.flags & AVFMT_TS_DISCONT != 0
        var tiles = TileCursor(reader: reader, interval: layout.interval, landsAnywhere: landsAnywhere)
        var sheet: AVFrameBox?
        var tileSize = (width: 0, height: 0)
        let scaler = FrameScaler()
        let scaled = try AVFrameBox()
        let turned = try AVFrameBox()
        var previous: UnsafeMutablePointer<AVFrame>?
        var sdr: SDRConverter?
        var convertedTile: AVFrameBox?  // keeps the previous tile alive when it came from the converter
        for index in 0..<layout.count {
            try interrupter.check("making the sprite sheet")
            var frame = try tiles.frame(atSeconds: Double(index) * layout.interval)
            if frame == nil, index == 0, decoder.context.pointee.skip_frame != AVDISCARD_DEFAULT {
                // Some streams flag no frame as a keyframe: decode every frame instead.
                decoder.context.pointee.skip_frame = AVDISCARD_DEFAULT
                tiles = TileCursor(reader: reader, interval: layout.interval, landsAnywhere: landsAnywhere)
                frame = try tiles.frame(atSeconds: 0)
            }
            if let frame {
                if sheet == nil {
                    let aspect = av_guess_sample_aspect_ratio(input.context, stream, frame)
                    let geometry = RenditionGeometry(
                        codedWidth: Int(frame.pointee.width),
                        codedHeight: Int(frame.pointee.height),
                        sampleAspect: aspect.num > 0 && aspect.den > 0 ? Double(aspect.num) / Double(aspect.den) : 1,
                        rotation: rotation
                    )
                    tileSize = geometry.tile(width: tileWidth)
                    let rows = (layout.count + columns - 1) / columns
                    let made = try AVFrameBox()
                    try made.allocate(
                        width: min(columns, layout.count) * tileSize.width,
                        height: rows * tileSize.height,
                        format: AV_PIX_FMT_YUVJ420P
                    )
                    Self.fillBlack(made.pointer)
                    sheet = made
                    let quarter = rotation == 90 || rotation == 270
                    try scaled.allocate(
                        width: quarter ? tileSize.height : tileSize.width,
                        height: quarter ? tileSize.width : tileSize.height,
                        format: AV_PIX_FMT_YUVJ420P
                    )
                    if rotation != 0 {
                        try turned.allocate(width: tileSize.width, height: tileSize.height, format: AV_PIX_FMT_YUVJ420P)
                    }
                }
                var tile = scaled.pointer
                if SDRConverter.needsConversion(frame) {
                    // HDR or BT.2020: tone-mapped to SDR in JPEG's colours by zscale, at the tile's size.
                    let converter = sdr ?? SDRConverter(output: .jpeg)
                    sdr = converter
                    let made = try converter.convert(
                        frame,
                        width: Int(scaled.pointer.pointee.width),
                        height: Int(scaled.pointer.pointee.height)
                    )
                    convertedTile = made
                    tile = made.pointer
                } else {
                    try scaler.scale(frame, into: scaled.pointer)
                }
                av_frame_unref(frame)
                if rotation != 0 {
                    PictureRotation.rotate(tile, clockwise: rotation, into: turned.pointer)
                    previous = turned.pointer
                } else {
                    previous = tile
                }
            }
            // No newer keyframe (or the end of the stream): the tile repeats the previous picture.
            guard let picture = previous, let sheet else {
                let reason = reader.lastFailure.map { " The last error was \($0)." } ?? ""
                throw MediaError(
                    .decodeFailed,
                    "No frame of the \(decoder.codecName) video in \(input.displayName) could be decoded.\(reason)"
                )
            }
            Self.copy(
                picture,
                into: sheet.pointer,
                x: (index % columns) * tileSize.width,
                y: (index / columns) * tileSize.height
            )
        }
        guard let sheet else {
            throw MediaError(.decodeFailed, "No frame of the video in \(input.displayName) could be decoded.")
        }
        try interrupter.check("encoding the sprite sheet")
        let jpeg = try JPEGEncoder.encode(sheet.pointer)
        return SpriteSheetImage(
            jpeg: jpeg,
            intervalSeconds: layout.interval,
            count: layout.count,
            columns: min(columns, layout.count),
            tileWidth: tileSize.width,
            tileHeight: tileSize.height,
            durationSeconds: duration
        )
    }

    /// Black in full-range YUV: Y 0, chroma 128.
    static func fillBlack(_ frame: UnsafeMutablePointer<AVFrame>) {
        let height = Int(frame.pointee.height)
        let chromaHeight = (height + 1) / 2
        if let y = frame.pointee.data.0 { y.update(repeating: 0, count: Int(frame.pointee.linesize.0) * height) }
        if let u = frame.pointee.data.1 {
            u.update(repeating: 128, count: Int(frame.pointee.linesize.1) * chromaHeight)
        }
        if let v = frame.pointee.data.2 {
            v.update(repeating: 128, count: Int(frame.pointee.linesize.2) * chromaHeight)
        }
    }

    /// Copies a 4:2:0 `tile` into `sheet` with its top-left corner at (`x`, `y`), both even.
    static func copy(_ tile: UnsafeMutablePointer<AVFrame>, into sheet: UnsafeMutablePointer<AVFrame>, x: Int, y: Int) {
        let width = Int(tile.pointee.width)
        let height = Int(tile.pointee.height)
        let planes: [(UnsafeMutablePointer<UInt8>?, Int32, UnsafeMutablePointer<UInt8>?, Int32, Int)] = [
            (tile.pointee.data.0, tile.pointee.linesize.0, sheet.pointee.data.0, sheet.pointee.linesize.0, 1),
            (tile.pointee.data.1, tile.pointee.linesize.1, sheet.pointee.data.1, sheet.pointee.linesize.1, 2),
            (tile.pointee.data.2, tile.pointee.linesize.2, sheet.pointee.data.2, sheet.pointee.linesize.2, 2),
        ]
        for (from, fromStride, to, toStride, divisor) in planes {
            guard let from, let to else { continue }
            let rows = (height + divisor - 1) / divisor
            let columns = (width + divisor - 1) / divisor
            for row in 0..<rows {
                let target = to + (y / divisor + row) * Int(toStride) + x / divisor
                target.update(from: from + row * Int(fromStride), count: columns)
            }
        }
    }
}

/// Finds the frame for each tile: the first keyframe from half an interval before the tile's time on that is
/// newer than the last one used; nil (the previous tile repeats) when that keyframe is already showing or none
/// is left. Each keyframe is decoded at most once and the file is read forward about once.
///
/// The index is not consulted: MP4's entries are DTS while it seeks by PTS (a seek to an entry lands on the
/// keyframe before it), and an MPEG-TS/PS seek fills the index with every packet it touched, flagged as
/// keyframes.
private struct TileCursor {
    let reader: VideoFrameReader
    let interval: Double
    /// MPEG-TS/PS: a seek lands on the packet whose DTS is at or before the target, usually past the keyframe
    /// (whose DTS precedes its PTS) or mid-GOP.
    let landsAnywhere: Bool
    private var lastTimestamp: Int64?
    private var started = false
    private var exhausted = false

    /// How far before the wanted time an MPEG-TS/PS seek starts: covers the DTS/PTS gap of reordered frames.
    static let prerollSeconds = 1.0

    init(reader: VideoFrameReader, interval: Double, landsAnywhere: Bool) {
        self.reader = reader
        self.interval = interval
        self.landsAnywhere = landsAnywhere
    }

    /// The decoded frame for the tile at `seconds`, or nil when no newer keyframe is due (the previous tile
    /// repeats). The frame stays valid until the next call.
    mutating func frame(atSeconds seconds: Double) throws(MediaError) -> UnsafeMutablePointer<AVFrame>? {
        let target = reader.timestamp(atSeconds: seconds)
        if exhausted { return nil }
        // The last keyframe used is at or after this tile's time: no newer one is closer.
        if let lastTimestamp, lastTimestamp >= target { return nil }
        let first = !started
        started = true
        let earliest = reader.timestamp(atSeconds: seconds - interval / 2)
        var notBefore: Int64? = first ? nil : earliest
        if let lastTimestamp, lastTimestamp < Int64.max { notBefore = max(notBefore ?? .min, lastTimestamp + 1) }
        if first && landsAnywhere {
            // A seek to the first timestamp would land past the first keyframe: start from the first byte.
            _ = try reader.rewind()
        } else {
            let from =
                landsAnywhere ? reader.timestamp(atSeconds: seconds - interval / 2 - Self.prerollSeconds) : target
            // A container that cannot seek: read on to the next keyframe instead.
            _ = try reader.seek(toKeyframeAtOrBefore: from)
        }
        guard let frame = try reader.nextFrame(notBefore: notBefore) else {
            exhausted = true  // no keyframe after this point: every later tile repeats
            return nil
        }
        let timestamp = frame.pointee.best_effort_timestamp
        guard timestamp != CFFmpeg_AV_NOPTS_VALUE() else { return frame }
        // The nearest picture wins: when the previous tile's keyframe is closer to this tile's time than the next
        // keyframe is, the previous tile repeats (the next keyframe is found again for a later tile).
        if let lastTimestamp,
            timestamp.subtractingReportingOverflow(target).partialValue
                > target.subtractingReportingOverflow(lastTimestamp).partialValue
        {
            return nil
        }
        lastTimestamp = timestamp
        return frame
    }
}
