import CFFmpeg

/// Owns one `AVFrame` and frees it (and the buffers it references) on deinit.
final class AVFrameBox {
    let pointer: UnsafeMutablePointer<AVFrame>

    init() throws(MediaError) {
        guard let frame = av_frame_alloc() else { throw MediaError(.decodeFailed, "av_frame_alloc: out of memory.") }
        pointer = frame
    }

    /// Allocates fresh, writable buffers for a `width`×`height` picture in `format`.
    func allocate(width: Int, height: Int, format: AVPixelFormat) throws(MediaError) {
        av_frame_unref(pointer)
        pointer.pointee.width = Int32(width)
        pointer.pointee.height = Int32(height)
        pointer.pointee.format = format.rawValue
        let status = av_frame_get_buffer(pointer, 0)
        guard status >= 0 else {
            throw .ffmpeg(
                .decodeFailed,
                "Cannot allocate a \(width)x\(height) picture",
                code: status,
                function: "av_frame_get_buffer"
            )
        }
    }

    deinit {
        var frame: UnsafeMutablePointer<AVFrame>? = pointer
        av_frame_free(&frame)
    }
}

/// Owns one `AVPacket` and frees it on deinit.
final class AVPacketBox {
    let pointer: UnsafeMutablePointer<AVPacket>

    init() throws(MediaError) {
        guard let packet = av_packet_alloc() else {
            throw MediaError(.decodeFailed, "av_packet_alloc: out of memory.")
        }
        pointer = packet
    }

    deinit {
        var packet: UnsafeMutablePointer<AVPacket>? = pointer
        av_packet_free(&packet)
    }
}
