/// A configuration problem, thrown before any service starts. Its message names the key, the value
/// and what is allowed, e.g. `DUPLICATES=maybe: expected reject or keep (from /etc/ingestd/ingestd.env:3)`.
public struct ConfigurationError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The key at fault, or `nil` for a syntax error in the file.
    public let key: String?
    /// The offending value (or line).
    public let value: String
    /// What would have been accepted.
    public let allowed: String
    /// Where the value came from: `file:line`, `environment` or `flag --x`.
    public let origin: String

    public init(key: String?, value: String, allowed: String, origin: String) {
        self.key = key
        self.value = value
        self.allowed = allowed
        self.origin = origin
    }

    public var description: String {
        if let key { return "\(key)=\(value): \(allowed) (from \(origin))" }
        return "\(origin): \(allowed): \(value)"
    }
}
