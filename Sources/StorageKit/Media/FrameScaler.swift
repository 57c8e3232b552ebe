import CFFmpeg

/// Converts decoded frames to a fixed size and pixel format with libswscale; owns the `SwsContext`, which is
/// reused while source and target geometry stay the same.
///
/// The deprecated full-range "yuvj" formats are handed to libswscale as their plain twins with the range set
/// through the `src_range`/`dst_range` options (as libavfilter's scale filter does), which keeps libswscale
/// from warning about them on every render.
final class FrameScaler {
    private struct Setup: Equatable {
        var sourceWidth: Int32, sourceHeight: Int32, sourceFormat: AVPixelFormat, sourceFullRange: Bool
        var targetWidth: Int32, targetHeight: Int32, targetFormat: AVPixelFormat, targetFullRange: Bool
    }

    private var context: OpaquePointer?
    private var setup: Setup?

    deinit { sws_freeContext(context) }

    /// Scales `source` into `destination`, whose width, height and format must already be set (its buffers
    /// are reused when allocated and writable).
    func scale(
        _ source: UnsafeMutablePointer<AVFrame>,
        into destination: UnsafeMutablePointer<AVFrame>
    )
        throws(MediaError)
    {
        let src = source.pointee
        let dst = destination.pointee
        let (sourceFormat, sourceFullRange) = Self.plainFormat(AVPixelFormat(rawValue: src.format), src.color_range)
        let (targetFormat, targetFullRange) = Self.plainFormat(AVPixelFormat(rawValue: dst.format), dst.color_range)
        let wanted = Setup(
            sourceWidth: src.width,
            sourceHeight: src.height,
            sourceFormat: sourceFormat,
            sourceFullRange: sourceFullRange,
            targetWidth: dst.width,
            targetHeight: dst.height,
            targetFormat: targetFormat,
            targetFullRange: targetFullRange
        )
        let context = try context(for: wanted)
        // sws_scale_frame allocates into a frame without buffers using the context's formats; present the
        // plain twins for the call and restore the caller's formats afterwards.
        let savedSourceFormat = source.pointee.format
        let savedTargetFormat = destination.pointee.format
        source.pointee.format = sourceFormat.rawValue
        destination.pointee.format = targetFormat.rawValue
        let status = sws_scale_frame(context, destination, source)
        source.pointee.format = savedSourceFormat
        destination.pointee.format = savedTargetFormat
        guard status >= 0 else {
            throw .ffmpeg(.decodeFailed, "Cannot scale the decoded picture", code: status, function: "sws_scale_frame")
        }
    }

    /// The cached context when `wanted` matches it, otherwise a new one configured through AVOptions.
    private func context(for wanted: Setup) throws(MediaError) -> OpaquePointer {
        if let context, setup == wanted { return context }
        sws_freeContext(context)
        context = nil
        setup = nil
        guard let created = sws_alloc_context() else {
            throw MediaError(.decodeFailed, "sws_alloc_context: out of memory.")
        }
        let options: [(String, Int64)] = [
            ("srcw", Int64(wanted.sourceWidth)), ("srch", Int64(wanted.sourceHeight)),
            ("src_format", Int64(wanted.sourceFormat.rawValue)), ("src_range", wanted.sourceFullRange ? 1 : 0),
            ("dstw", Int64(wanted.targetWidth)), ("dsth", Int64(wanted.targetHeight)),
            ("dst_format", Int64(wanted.targetFormat.rawValue)), ("dst_range", wanted.targetFullRange ? 1 : 0),
            ("sws_flags", Int64(SWS_BICUBIC)),
        ]
        for (name, value) in options {
            let status = av_opt_set_int(UnsafeMutableRawPointer(created), name, value, 0)
            guard status >= 0 else {
                sws_freeContext(created)
                throw .ffmpeg(
                    .decodeFailed,
                    "Cannot set libswscale option \(name)",
                    code: status,
                    function: "av_opt_set_int"
                )
            }
        }
        let status = sws_init_context(created, nil, nil)
        guard status >= 0 else {
            sws_freeContext(created)
            throw .ffmpeg(
                .decodeFailed,
                "libswscale cannot convert \(wanted.sourceWidth)x\(wanted.sourceHeight) "
                    + "\(Self.name(wanted.sourceFormat)) to \(wanted.targetWidth)x\(wanted.targetHeight) "
                    + "\(Self.name(wanted.targetFormat))",
                code: status,
                function: "sws_init_context"
            )
        }
        context = created
        setup = wanted
        return created
    }

    /// The non-deprecated twin of a "yuvj" format, and whether the picture is full range.
    private static func plainFormat(_ format: AVPixelFormat, _ range: AVColorRange) -> (AVPixelFormat, Bool) {
        switch format {
        case AV_PIX_FMT_YUVJ420P: (AV_PIX_FMT_YUV420P, true)
        case AV_PIX_FMT_YUVJ422P: (AV_PIX_FMT_YUV422P, true)
        case AV_PIX_FMT_YUVJ444P: (AV_PIX_FMT_YUV444P, true)
        case AV_PIX_FMT_YUVJ440P: (AV_PIX_FMT_YUV440P, true)
        case AV_PIX_FMT_YUVJ411P: (AV_PIX_FMT_YUV411P, true)
        default: (format, range == AVCOL_RANGE_JPEG)
        }
    }

    private static func name(_ format: AVPixelFormat) -> String {
        av_get_pix_fmt_name(format).map { String(cString: $0) } ?? "format \(format.rawValue)"
    }
}
