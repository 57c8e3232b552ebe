import CFFmpeg

/// A negative return code of an FFmpeg function, with the function's name and `av_strerror`'s text.
public struct FFmpegError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The `AVERROR` value the function returned.
    public var code: Int32
    /// The FFmpeg function that returned it.
    public var function: String

    /// Wraps the failure `code` returned by `function`.
    public init(code: Int32, function: String) {
        self.code = code
        self.function = function
    }

    /// `av_strerror`'s text for `code`, e.g. "Invalid data found when processing input".
    public var message: String { Self.message(for: code) }

    /// `function failed: message (code)`.
    public var description: String { "\(function) failed: \(message) (\(code))" }

    /// Turns an `AVERROR` code into `av_strerror`'s text.
    public static func message(for code: Int32) -> String {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: 128) { buffer in
            guard let base = buffer.baseAddress else { return "error \(code)" }
            // av_strerror fills the buffer with a generic text even when it does not know the code.
            _ = av_strerror(code, base, buffer.count)
            base[buffer.count - 1] = 0
            return String(cString: base)
        }
    }

    /// True when `code` is `AVERROR_EOF`.
    static func isEndOfFile(_ code: Int32) -> Bool { code == CFFmpeg_AVERROR_EOF() }

    /// True when `code` is `AVERROR(EAGAIN)`.
    static func isAgain(_ code: Int32) -> Bool { code == CFFmpeg_AVERROR(EAGAIN) }
}

extension MediaError {
    /// An error of `kind` whose detail names what was being done and FFmpeg's text for `code`.
    static func ffmpeg(_ kind: Kind, _ what: String, code: Int32, function: String) -> MediaError {
        MediaError(kind, "\(what): \(FFmpegError(code: code, function: function))")
    }

    /// Throws ``ffmpeg(_:_:code:function:)`` of `kind` when `code`, what `function` returned, is negative (an
    /// `AVERROR`); `what` is only made then.
    static func check(
        _ code: Int32,
        _ what: @autoclosure () -> String,
        function: String,
        kind: Kind = .decodeFailed
    ) throws(MediaError) {
        guard code < 0 else { return }
        throw .ffmpeg(kind, what(), code: code, function: function)
    }
}
