/// Why a media file could not be probed or turned into a thumbnail.
///
/// `kind` is the stable classification the pipeline acts on (reject, retry, give up); `detail` is a sentence
/// for people, carrying FFmpeg's own error text where there is one.
public struct MediaError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The classification of a media failure. Raw values are snake_case so they can double as reason codes.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// libavformat cannot open or identify the file, or its container structure is not what its
        /// extension promises.
        case notMedia = "not_media"
        /// The container ends before its own structure says it should (a half-copied file).
        case truncated
        /// The container holds no video stream (an audio-only `.mp4`).
        case noVideo = "no_video"
        /// The video stream exists but no frame of it could be decoded.
        case decodeFailed = "decode_failed"
        /// The caller asked the work to stop (shutdown, cancellation).
        case interrupted
        /// The work ran past its time limit.
        case timedOut = "timed_out"
    }

    /// The classification of the failure.
    public var kind: Kind
    /// A human sentence describing what went wrong, with FFmpeg's error text where relevant.
    public var detail: String

    /// Makes an error of `kind` explained by `detail`.
    public init(_ kind: Kind, _ detail: String) {
        self.kind = kind
        self.detail = detail
    }

    /// `kind: detail`, e.g. `no_video: clip.mp4 has no video stream (format mov,mp4,m4a,3gp,3g2,mj2).`
    public var description: String { "\(kind.rawValue): \(detail)" }
}
