import CFFmpeg

/// Turns decoded pictures of any transfer, primaries and bit depth (HDR10/PQ, HLG, BT.2020, 10-bit) into
/// 8-bit SDR BT.709 4:2:0 with libavfilter's `zscale` (libzimg) and `tonemap` filters. libswscale alone
/// ignores transfer and primaries: a flat BT.709 (192, 48, 32) carried in HLG comes out (103, 47, 31).
///
/// - HLG is converted straight to BT.709 by zscale (HLG is designed to be shown that way on SDR screens):
///   (192, 48, 32) comes back as (191, 49, 36).
/// - PQ is absolute light (up to 10,000 cd/m²): it is linearized with 100 cd/m² as SDR white, its primaries
///   converted, and tone-mapped with the Möbius operator, which leaves colours in the SDR range alone and
///   rolls off highlights smoothly ((192, 48, 32) → (185, 49, 36); Hable would give (124, 33, 24)).
/// - Anything else (BT.2020 SDR, BT.601, 10-bit BT.709) gets its primaries, transfer and matrix converted.
///
/// One converter keeps its filter graph while the pictures keep their size and format, so it serves a stream
/// of frames (renditions, sprites) as well as a single thumbnail. Not thread-safe: one per worker.
final class SDRConverter {
    /// What the 8-bit pictures are for.
    enum Output: Sendable {
        /// `yuv420p`, BT.709 matrix, limited range: what video encoders (renditions) take, tagged BT.709.
        case video
        /// `yuv420p` with the BT.601 matrix (what JPEG decoders assume) in full range, like `yuvj420p`:
        /// thumbnails and sprite sheets.
        case jpeg
    }

    let output: Output
    let threads: Int
    private var graph: VideoFilterGraph?

    /// A converter for `output`, with `threads` threads for zscale's slices.
    init(output: Output = .video, threads: Int = 1) {
        self.output = output
        self.threads = threads
    }

    /// True when `frame` is HDR or wide-gamut (PQ or HLG transfer, BT.2020 primaries, or the BT.2020
    /// transfers): libswscale would get its colours wrong, ``convert(_:width:height:)`` gets them right.
    static func needsConversion(_ frame: UnsafePointer<AVFrame>) -> Bool {
        switch frame.pointee.color_trc {
        case AVCOL_TRC_SMPTE2084, AVCOL_TRC_ARIB_STD_B67, AVCOL_TRC_BT2020_10, AVCOL_TRC_BT2020_12: return true
        default: return frame.pointee.color_primaries == AVCOL_PRI_BT2020
        }
    }

    /// Converts `frame` into a new 8-bit SDR BT.709 picture, `width`×`height` when given (else the same size).
    /// `frame` is not changed.
    func convert(
        _ frame: UnsafeMutablePointer<AVFrame>,
        width: Int? = nil,
        height: Int? = nil
    ) throws(MediaError)
        -> AVFrameBox
    {
        let size = (width: width ?? Int(frame.pointee.width), height: height ?? Int(frame.pointee.height))
        let input = VideoFilterGraph.Input(of: frame)
        let description = Self.filters(for: frame, size: size, output: output)
        if graph?.input != input || graph?.filters != description {
            graph = try VideoFilterGraph(filters: description, input: input, threads: threads)
        }
        guard let graph else { throw MediaError(.decodeFailed, "No filter graph for the SDR conversion.") }
        try graph.send(frame)
        let converted = try AVFrameBox()
        guard try graph.receive(into: converted.pointer) else {
            throw MediaError(.decodeFailed, "The SDR conversion (\(description)) gave no picture.")
        }
        return converted
    }

    /// The filter description converting pictures like `frame`: its colour properties are named explicitly
    /// (unspecified ones get the usual defaults for its transfer) so that zscale never has to guess.
    static func filters(for frame: UnsafePointer<AVFrame>, size: (width: Int, height: Int), output: Output) -> String {
        let f = frame.pointee
        let transfer =
            f.color_trc == AVCOL_TRC_UNSPECIFIED || f.color_trc == AVCOL_TRC_RESERVED0
            ? AVCOL_TRC_BT709 : f.color_trc
        let hdr = transfer == AVCOL_TRC_SMPTE2084 || transfer == AVCOL_TRC_ARIB_STD_B67
        let primaries =
            f.color_primaries == AVCOL_PRI_UNSPECIFIED || f.color_primaries == AVCOL_PRI_RESERVED0
            ? (hdr ? AVCOL_PRI_BT2020 : AVCOL_PRI_BT709) : f.color_primaries
        var matrix = f.colorspace
        if matrix == AVCOL_SPC_UNSPECIFIED || matrix == AVCOL_SPC_RESERVED || matrix == AVCOL_SPC_RGB {
            matrix = primaries == AVCOL_PRI_BT2020 ? AVCOL_SPC_BT2020_NCL : AVCOL_SPC_BT709
        }
        let fullRange = f.color_range == AVCOL_RANGE_JPEG || Self.isFullRangeFormat(f.format)
        let source =
            "tin=\(transfer.rawValue):pin=\(primaries.rawValue):min=\(matrix.rawValue):rin=\(fullRange ? 1 : 0)"
        let target =
            output == .video
            ? "t=bt709:p=bt709:m=bt709:r=tv" : "t=bt709:p=bt709:m=470bg:r=pc"
        let resize = "w=\(size.width):h=\(size.height):f=bicubic"
        if transfer == AVCOL_TRC_SMPTE2084 {
            return "zscale=\(source):t=linear:npl=100,format=gbrpf32le,zscale=p=bt709,tonemap=mobius:desat=0,"
                + "zscale=\(target):\(resize),format=yuv420p"
        }
        return "zscale=\(source):\(target):\(resize),format=yuv420p"
    }

    private static func isFullRangeFormat(_ format: Int32) -> Bool {
        [AV_PIX_FMT_YUVJ420P, AV_PIX_FMT_YUVJ422P, AV_PIX_FMT_YUVJ444P, AV_PIX_FMT_YUVJ440P, AV_PIX_FMT_YUVJ411P]
            .contains { $0.rawValue == format }
    }
}
