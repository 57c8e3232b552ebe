import CFFmpeg

/// The clockwise display rotation of a video stream, read from its display matrix side data.
enum DisplayRotation {
    /// Degrees the picture turns clockwise for display, normalized to 0, 90, 180 or 270.
    ///
    /// `av_display_rotation_get` answers in counter-clockwise degrees (an iPhone portrait clip gives -90),
    /// so the clockwise angle is its negation. FFmpeg's own autorotation uses the same sign.
    static func clockwiseDegrees(of stream: UnsafeMutablePointer<AVStream>) -> Int {
        var size: Int = 0
        guard let data = av_stream_get_side_data(stream, AV_PKT_DATA_DISPLAYMATRIX, &size),
            size >= 9 * MemoryLayout<Int32>.size
        else { return 0 }
        let counterClockwise = data.withMemoryRebound(to: Int32.self, capacity: 9) { av_display_rotation_get($0) }
        guard counterClockwise.isFinite else { return 0 }
        return normalized(clockwise: -counterClockwise)
    }

    /// Rounds `degrees` to the nearest quarter turn in 0..<360.
    static func normalized(clockwise degrees: Double) -> Int {
        let quarterTurns = Int((degrees / 90).rounded())
        return ((quarterTurns % 4) + 4) % 4 * 90
    }
}
