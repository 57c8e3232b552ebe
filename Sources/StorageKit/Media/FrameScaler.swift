import CFFmpeg

/// Converts decoded frames to a fixed size and pixel format with libswscale; owns the `SwsContext`, which is
/// reused while the source geometry stays the same.
final class FrameScaler {
    private var context: OpaquePointer?

    deinit { sws_freeContext(context) }

    /// Scales `source` into `destination`, whose width, height and format must already be set (its buffers
    /// are reused when allocated and writable).
    func scale(_ source: UnsafeMutablePointer<AVFrame>, into destination: UnsafeMutablePointer<AVFrame>)
        throws(MediaError)
    {
        let src = source.pointee
        let dst = destination.pointee
        context = sws_getCachedContext(
            context, src.width, src.height, AVPixelFormat(rawValue: src.format),
            dst.width, dst.height, AVPixelFormat(rawValue: dst.format), SWS_BICUBIC, nil, nil, nil)
        guard let context else {
            throw MediaError(
                .decodeFailed,
                "libswscale cannot convert \(src.width)x\(src.height) \(Self.name(src.format)) "
                    + "to \(dst.width)x\(dst.height) \(Self.name(dst.format)).")
        }
        let status = sws_scale_frame(context, destination, source)
        guard status >= 0 else {
            throw .ffmpeg(.decodeFailed, "Cannot scale the decoded picture", code: status, function: "sws_scale_frame")
        }
    }

    private static func name(_ format: Int32) -> String {
        av_get_pix_fmt_name(AVPixelFormat(rawValue: format)).map { String(cString: $0) } ?? "format \(format)"
    }
}
