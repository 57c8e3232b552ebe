import CFFmpeg

/// An opened decoder for one stream (video or audio); owns its `AVCodecContext`.
final class StreamDecoder {
    let context: UnsafeMutablePointer<AVCodecContext>

    init(stream: UnsafeMutablePointer<AVStream>, threads: Int) throws(MediaError) {
        let kind =
            stream.pointee.codecpar.flatMap { av_get_media_type_string($0.pointee.codec_type) }
            .map { String(cString: $0) } ?? "media"
        guard let parameters = stream.pointee.codecpar else {
            throw MediaError(.decodeFailed, "The \(kind) stream has no codec parameters.")
        }
        let codecID = parameters.pointee.codec_id
        let name = avcodec_get_name(codecID).map { String(cString: $0) } ?? "unknown"
        guard let codec = avcodec_find_decoder(codecID) else {
            throw MediaError(.decodeFailed, "No decoder for \(kind) codec \(name) in this FFmpeg build.")
        }
        guard let allocated = avcodec_alloc_context3(codec) else {
            throw MediaError(.decodeFailed, "avcodec_alloc_context3: out of memory.")
        }
        var owned: UnsafeMutablePointer<AVCodecContext>? = allocated
        let copied = avcodec_parameters_to_context(allocated, parameters)
        guard copied >= 0 else {
            avcodec_free_context(&owned)
            throw .ffmpeg(
                .decodeFailed,
                "Cannot set up the \(name) decoder",
                code: copied,
                function: "avcodec_parameters_to_context"
            )
        }
        allocated.pointee.pkt_timebase = stream.pointee.time_base
        allocated.pointee.thread_count = Int32(max(1, threads))
        let opened = avcodec_open2(allocated, codec, nil)
        guard opened >= 0 else {
            avcodec_free_context(&owned)
            throw .ffmpeg(.decodeFailed, "Cannot open the \(name) decoder", code: opened, function: "avcodec_open2")
        }
        context = allocated
    }

    deinit {
        var owned: UnsafeMutablePointer<AVCodecContext>? = context
        avcodec_free_context(&owned)
    }

    /// The codec's name, e.g. `h264`.
    var codecName: String {
        avcodec_get_name(context.pointee.codec_id).map { String(cString: $0) } ?? "unknown"
    }
}
