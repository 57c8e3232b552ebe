import Foundation

/// Bytes and regular files below one category folder (SPEC `GET /storage/stats`).
public struct CategoryUsage: Codable, Sendable, Equatable {
    public var bytes: Int64
    /// `bytes / 1048576` rounded to 2 decimals (half away from zero), e.g. `1.5` or `0.01`.
    public var megabytes: Double
    public var fileCount: Int

    /// Usage of `fileCount` files totalling `bytes`; `megabytes` is derived.
    public init(bytes: Int64, fileCount: Int) {
        self.bytes = bytes
        self.fileCount = fileCount
        self.megabytes = CategoryUsage.megabytes(bytes)
    }

    /// No files.
    public static let zero = CategoryUsage(bytes: 0, fileCount: 0)

    /// `bytes / 1048576` rounded to 2 decimals. The result is the `Double` nearest to a two-decimal
    /// number, which JSON encoders print in its short form (`1.5`, not `1.5000000001`).
    public static func megabytes(_ bytes: Int64) -> Double {
        (Double(bytes) / 1_048_576 * 100).rounded(.toNearestOrAwayFromZero) / 100
    }

    enum CodingKeys: String, SnakeCaseCodingKey {
        case bytes, megabytes, fileCount
    }
}
