import CFFmpeg

/// Turns a planar YUV 4:2:0 picture by quarter turns, plane by plane, so the thumbnail is drawn as displayed.
enum PictureRotation {
    /// Writes `source` turned `clockwise` degrees (90, 180 or 270) into `destination`, which must be allocated
    /// with the turned size and the same pixel format.
    static func rotate(
        _ source: UnsafeMutablePointer<AVFrame>,
        clockwise: Int,
        into destination: UnsafeMutablePointer<AVFrame>
    ) {
        let width = Int(source.pointee.width)
        let height = Int(source.pointee.height)
        let chromaWidth = (width + 1) >> 1
        let chromaHeight = (height + 1) >> 1
        let planes: [(Int, Int)] = [(width, height), (chromaWidth, chromaHeight), (chromaWidth, chromaHeight)]
        withUnsafePointer(to: source.pointee.data) { sourceData in
            withUnsafePointer(to: destination.pointee.data) { destinationData in
                sourceData.withMemoryRebound(to: UnsafeMutablePointer<UInt8>?.self, capacity: 3) { sources in
                    destinationData.withMemoryRebound(to: UnsafeMutablePointer<UInt8>?.self, capacity: 3) { targets in
                        for (index, size) in planes.enumerated() {
                            guard let from = sources[index], let to = targets[index] else { continue }
                            rotatePlane(
                                from,
                                stride: Int(linesize(source, index)),
                                width: size.0,
                                height: size.1,
                                into: to,
                                stride: Int(linesize(destination, index)),
                                clockwise: clockwise
                            )
                        }
                    }
                }
            }
        }
    }

    private static func linesize(_ frame: UnsafeMutablePointer<AVFrame>, _ index: Int) -> Int32 {
        switch index {
        case 0: frame.pointee.linesize.0
        case 1: frame.pointee.linesize.1
        default: frame.pointee.linesize.2
        }
    }

    /// `source` is `width`×`height`; the result is `height`×`width` for quarter turns, same size for 180.
    static func rotatePlane(
        _ source: UnsafePointer<UInt8>,
        stride sourceStride: Int,
        width: Int,
        height: Int,
        into target: UnsafeMutablePointer<UInt8>,
        stride targetStride: Int,
        clockwise: Int
    ) {
        switch clockwise {
        case 90:
            // Target row r, column c shows source row (height - 1 - c), column r: the left edge goes to the top.
            for r in 0..<width {
                let row = target + r * targetStride
                for c in 0..<height { row[c] = source[(height - 1 - c) * sourceStride + r] }
            }
        case 270:
            // Target row r, column c shows source row c, column (width - 1 - r): the right edge goes to the top.
            for r in 0..<width {
                let row = target + r * targetStride
                for c in 0..<height { row[c] = source[c * sourceStride + (width - 1 - r)] }
            }
        case 180:
            for r in 0..<height {
                let row = target + r * targetStride
                let from = source + (height - 1 - r) * sourceStride
                for c in 0..<width { row[c] = from[width - 1 - c] }
            }
        default:
            for r in 0..<height { (target + r * targetStride).update(from: source + r * sourceStride, count: width) }
        }
    }
}
