import CFFmpeg
import Synchronization

/// Where FFmpeg's own log lines go. By default they are dropped: a daemon must not spray libav's stderr
/// chatter about damaged user files into its journal.
public enum FFmpegLog {
    /// Receives one formatted FFmpeg log line (without its trailing newline) and its `AV_LOG_*` level.
    public typealias Handler = @Sendable (_ level: Int32, _ message: String) -> Void

    private struct State {
        var configured = false
        var handler: Handler?
    }

    private static let state = Mutex(State())

    /// Drops every FFmpeg log line (`AV_LOG_QUIET`).
    public static func silence() {
        state.withLock { state in
            state.configured = true
            state.handler = nil
            // With no handler the forwarder drops lines, and AV_LOG_QUIET stops FFmpeg before it formats them.
            av_log_set_level(AV_LOG_QUIET)
            av_log_set_callback(forwardLogLine)
        }
    }

    /// Sends FFmpeg log lines at `level` or more severe (`AV_LOG_ERROR`, `AV_LOG_WARNING`, …) to `handler`.
    /// The handler may be called from FFmpeg's decoder threads.
    public static func route(level: Int32 = AV_LOG_WARNING, to handler: @escaping Handler) {
        state.withLock { state in
            state.configured = true
            state.handler = handler
            av_log_set_level(level)
            av_log_set_callback(forwardLogLine)
        }
    }

    /// Silences FFmpeg unless someone chose a routing already; called before the first FFmpeg use.
    static func installDefault() {
        let configured = state.withLock { $0.configured }
        if !configured { silence() }
    }

    fileprivate static func deliver(level: Int32, message: String) {
        guard let handler = state.withLock({ $0.handler }) else { return }
        handler(level, message)
    }
}

/// The C callback given to `av_log_set_callback`: formats the line and hands it to the Swift handler.
private func forwardLogLine(
    _ avcl: UnsafeMutableRawPointer?,
    _ level: Int32,
    _ format: UnsafePointer<CChar>?,
    _ arguments: CVaListPointer?
) {
    guard level <= av_log_get_level(), let format, let arguments else { return }
    var line = [CChar](repeating: 0, count: 1024)
    var printPrefix: Int32 = 1
    // av_log_format_line2 adds the "[h264 @ 0x…]" context prefix and returns the untruncated length.
    let length = av_log_format_line2(avcl, level, format, arguments, &line, Int32(line.count), &printPrefix)
    guard length > 0 else { return }
    var message = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    while message.last == "\n" { message.removeLast() }
    if !message.isEmpty { FFmpegLog.deliver(level: level, message: message) }
}
