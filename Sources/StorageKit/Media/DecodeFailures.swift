/// The packets and frames a decoder rejected: a damaged stretch of a stream is skipped, but at ``limit`` of
/// them the stream counts as undecodable.
struct DecodeFailures {
    /// After this many rejected packets or corrupt frames the stream counts as undecodable.
    static let limit = 64

    /// Packets and frames rejected so far.
    private(set) var count = 0
    /// The most recent failure, for people.
    var last: String?

    /// Counts `failure`, a rejected packet or frame of `stream` (`h264 video`, `audio`); throws `.decodeFailed`
    /// when it is the ``limit``th.
    mutating func note(_ failure: String, of stream: @autoclosure () -> String) throws(MediaError) {
        count += 1
        last = failure
        guard count >= Self.limit else { return }
        throw MediaError(
            .decodeFailed,
            "The \(stream()) could not be decoded: \(count) packets or frames were rejected, the last with \(failure)."
        )
    }
}
