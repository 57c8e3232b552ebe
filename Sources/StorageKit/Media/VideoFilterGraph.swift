import CFFmpeg

/// A libavfilter graph with one video input (`buffer`) and one output (`buffersink`), built from a filter
/// description such as `yadif,zscale=t=bt709` for pictures of one geometry and pixel format.
///
/// Frames go in with ``send(_:)`` and come out with ``receive(into:)``; ``finish()`` marks the end of input
/// so that filters that hold frames back (deinterlacers) hand them out.
final class VideoFilterGraph {
    /// What the graph was built for; a frame of another shape needs another graph.
    struct Input: Equatable {
        var width: Int32
        var height: Int32
        var format: Int32
        var sampleAspect: AVRational

        init(of frame: UnsafePointer<AVFrame>) {
            width = frame.pointee.width
            height = frame.pointee.height
            format = frame.pointee.format
            sampleAspect = frame.pointee.sample_aspect_ratio
        }

        static func == (a: Input, b: Input) -> Bool {
            a.width == b.width && a.height == b.height && a.format == b.format
                && a.sampleAspect.num == b.sampleAspect.num && a.sampleAspect.den == b.sampleAspect.den
        }
    }

    let input: Input
    let filters: String
    private var graph: UnsafeMutablePointer<AVFilterGraph>?
    private let source: UnsafeMutablePointer<AVFilterContext>
    private let sink: UnsafeMutablePointer<AVFilterContext>

    /// Builds and configures the graph `filters` for frames shaped like `input`, with `threads` threads for
    /// filters that slice their work.
    init(filters: String, input: Input, threads: Int = 1) throws(MediaError) {
        self.input = input
        self.filters = filters
        guard let graph = avfilter_graph_alloc() else {
            throw MediaError(.decodeFailed, "avfilter_graph_alloc: out of memory.")
        }
        // Frees the graph (and every filter in it) when setting it up fails.
        func fail(_ error: MediaError) -> MediaError {
            var owned: UnsafeMutablePointer<AVFilterGraph>? = graph
            avfilter_graph_free(&owned)
            return error
        }
        graph.pointee.nb_threads = Int32(max(1, threads))
        let aspect =
            input.sampleAspect.num > 0 && input.sampleAspect.den > 0
            ? input.sampleAspect : AVRational(num: 1, den: 1)
        let arguments =
            "video_size=\(input.width)x\(input.height):pix_fmt=\(input.format):time_base=1/90000:"
            + "pixel_aspect=\(aspect.num)/\(aspect.den)"
        // The filter `filter` named `label` in the graph, as its `end` (input or output).
        func endFilter(
            _ filter: String,
            _ label: String,
            arguments: String?,
            end: String
        ) throws(MediaError) -> UnsafeMutablePointer<AVFilterContext> {
            var created: UnsafeMutablePointer<AVFilterContext>?
            let status = avfilter_graph_create_filter(
                &created,
                avfilter_get_by_name(filter),
                label,
                arguments,
                nil,
                graph
            )
            guard status >= 0, let created else {
                throw fail(
                    .ffmpeg(
                        .decodeFailed,
                        "Cannot create the filter \(end)",
                        code: status,
                        function: "avfilter_graph_create_filter"
                    )
                )
            }
            return created
        }
        let source = try endFilter("buffer", "in", arguments: arguments, end: "input")
        let sink = try endFilter("buffersink", "out", arguments: nil, end: "output")
        // The parser's view: our source feeds its open input "in", its open output "out" feeds our sink.
        var outputs = avfilter_inout_alloc()
        var inputs = avfilter_inout_alloc()
        guard let opened = outputs, let closing = inputs else {
            avfilter_inout_free(&outputs)
            avfilter_inout_free(&inputs)
            throw fail(MediaError(.decodeFailed, "avfilter_inout_alloc: out of memory."))
        }
        opened.pointee.name = av_strdup("in")
        opened.pointee.filter_ctx = source
        opened.pointee.pad_idx = 0
        opened.pointee.next = nil
        closing.pointee.name = av_strdup("out")
        closing.pointee.filter_ctx = sink
        closing.pointee.pad_idx = 0
        closing.pointee.next = nil
        // avfilter_graph_parse_ptr takes over both lists and leaves in the variables what it did not use.
        var status = avfilter_graph_parse_ptr(graph, filters, &inputs, &outputs, nil)
        avfilter_inout_free(&outputs)
        avfilter_inout_free(&inputs)
        guard status >= 0 else {
            throw fail(
                .ffmpeg(
                    .decodeFailed,
                    "Cannot build the filters \(filters)",
                    code: status,
                    function: "avfilter_graph_parse_ptr"
                )
            )
        }
        status = avfilter_graph_config(graph, nil)
        guard status >= 0 else {
            throw fail(
                .ffmpeg(
                    .decodeFailed,
                    "Cannot configure the filters \(filters)",
                    code: status,
                    function: "avfilter_graph_config"
                )
            )
        }
        self.graph = graph
        self.source = source
        self.sink = sink
    }

    deinit { avfilter_graph_free(&graph) }

    /// Feeds one frame; the graph takes a new reference, so `frame` stays the caller's.
    func send(_ frame: UnsafeMutablePointer<AVFrame>) throws(MediaError) {
        try MediaError.check(
            av_buffersrc_add_frame_flags(source, frame, Int32(AV_BUFFERSRC_FLAG_KEEP_REF)),
            "The filters \(filters) refused a picture",
            function: "av_buffersrc_add_frame_flags"
        )
    }

    /// Marks the end of input: frames held back for look-ahead come out next.
    func finish() throws(MediaError) {
        try MediaError.check(
            av_buffersrc_add_frame_flags(source, nil, 0),
            "The filters \(filters) refused the end of input",
            function: "av_buffersrc_add_frame_flags"
        )
    }

    /// Moves the next filtered frame into `frame` (unreferenced first). Returns false when none is ready yet
    /// or the graph has ended.
    func receive(into frame: UnsafeMutablePointer<AVFrame>) throws(MediaError) -> Bool {
        av_frame_unref(frame)
        let status = av_buffersink_get_frame(sink, frame)
        if status >= 0 { return true }
        if FFmpegError.isAgain(status) || FFmpegError.isEndOfFile(status) { return false }
        throw .ffmpeg(.decodeFailed, "The filters \(filters) failed", code: status, function: "av_buffersink_get_frame")
    }

    /// Runs one picture through a fresh graph `filters` (fed the picture, then the end of input) and returns
    /// the first picture out: for one-off work such as deinterlacing a thumbnail's frame.
    static func applyOnce(
        _ filters: String,
        to frame: UnsafeMutablePointer<AVFrame>,
        threads: Int = 1
    )
        throws(MediaError) -> AVFrameBox
    {
        let graph = try VideoFilterGraph(filters: filters, input: Input(of: frame), threads: threads)
        try graph.send(frame)
        let result = try AVFrameBox()
        if try graph.receive(into: result.pointer) { return result }
        try graph.finish()
        guard try graph.receive(into: result.pointer) else {
            throw MediaError(.decodeFailed, "The filters \(filters) gave no picture.")
        }
        return result
    }
}
