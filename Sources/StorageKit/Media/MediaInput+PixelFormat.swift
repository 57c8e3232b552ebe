import CFFmpeg

extension MediaInput {
    /// Most packets read while looking for the pixel format.
    static let pixelFormatPacketLimit = 16

    /// Learns every video stream's unknown pixel format from its first packets with libavcodec's parser
    /// (H.264, HEVC, AV1 and others read it from their headers), without decoding a picture. Returns whether
    /// every video stream's format is now known. Reads packets: call it only when nothing else will read
    /// from the context afterwards, or seek back first.
    static func parsePixelFormats(_ context: UnsafeMutablePointer<AVFormatContext>) -> Bool {
        guard let list = context.pointee.streams else { return false }
        var parsers:
            [Int32: (parser: UnsafeMutablePointer<AVCodecParserContext>, codec: UnsafeMutablePointer<AVCodecContext>)] =
                [:]
        defer {
            for (_, entry) in parsers {
                av_parser_close(entry.parser)
                var codec: UnsafeMutablePointer<AVCodecContext>? = entry.codec
                avcodec_free_context(&codec)
            }
        }
        for index in 0..<Int(context.pointee.nb_streams) {
            guard let stream = list[index], let parameters = stream.pointee.codecpar,
                parameters.pointee.codec_type == AVMEDIA_TYPE_VIDEO, parameters.pointee.format < 0
            else { continue }
            guard let parser = av_parser_init(Int32(parameters.pointee.codec_id.rawValue)) else { return false }
            guard let codec = avcodec_alloc_context3(nil), avcodec_parameters_to_context(codec, parameters) >= 0 else {
                av_parser_close(parser)
                return false
            }
            parser.pointee.flags |= PARSER_FLAG_COMPLETE_FRAMES
            parsers[stream.pointee.index] = (parser, codec)
        }
        guard !parsers.isEmpty, let packet = av_packet_alloc() else { return parsers.isEmpty }
        var owned: UnsafeMutablePointer<AVPacket>? = packet
        defer { av_packet_free(&owned) }
        for _ in 0..<pixelFormatPacketLimit {
            guard av_read_frame(context, packet) >= 0 else { break }
            defer { av_packet_unref(packet) }
            let index = packet.pointee.stream_index
            guard let entry = parsers[index], let stream = list[Int(index)], let parameters = stream.pointee.codecpar
            else { continue }
            var output: UnsafeMutablePointer<UInt8>?
            var outputSize: Int32 = 0
            _ = av_parser_parse2(
                entry.parser,
                entry.codec,
                &output,
                &outputSize,
                packet.pointee.data,
                packet.pointee.size,
                packet.pointee.pts,
                packet.pointee.dts,
                packet.pointee.pos
            )
            if entry.parser.pointee.format >= 0 {
                parameters.pointee.format = entry.parser.pointee.format
                av_parser_close(entry.parser)
                var codec: UnsafeMutablePointer<AVCodecContext>? = entry.codec
                avcodec_free_context(&codec)
                parsers[index] = nil
                if parsers.isEmpty { return true }
            }
        }
        return false
    }
}
