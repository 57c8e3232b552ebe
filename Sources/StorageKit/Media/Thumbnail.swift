/// A rendered thumbnail: a complete JPEG file and its pixel size.
public struct Thumbnail: Sendable, Equatable {
    /// The JPEG file's bytes.
    public var jpeg: [UInt8]
    /// Width in pixels.
    public var width: Int
    /// Height in pixels.
    public var height: Int

    /// Makes a thumbnail from its parts.
    public init(jpeg: [UInt8], width: Int, height: Int) {
        self.jpeg = jpeg
        self.width = width
        self.height = height
    }
}
