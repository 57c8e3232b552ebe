import CFFmpeg

/// Mean and spread of a picture's luma, sampled on a grid: cheap enough to judge every candidate frame.
struct LumaStatistics: Comparable {
    /// Mean luma, 0…255 (full range).
    var mean: Double
    /// Standard deviation of luma.
    var deviation: Double

    /// Below this mean a frame counts as black (fade-in, leader).
    static let blackMean = 28.0
    /// Above this mean a frame counts as blown-out white.
    static let whiteMean = 235.0
    /// Below this deviation a frame counts as flat (one colour, no content).
    static let flatDeviation = 10.0

    /// True when the frame is neither nearly black, nearly white nor flat.
    var isInformative: Bool {
        mean >= Self.blackMean && mean <= Self.whiteMean && deviation >= Self.flatDeviation
    }

    /// How much a frame shows; used to keep the best frame when no candidate is informative.
    var score: Double {
        let exposure = mean < Self.blackMean ? mean / Self.blackMean : (mean > Self.whiteMean ? 0.5 : 1)
        return (deviation + 1) * exposure
    }

    static func < (lhs: LumaStatistics, rhs: LumaStatistics) -> Bool { lhs.score < rhs.score }

    /// Samples plane 0 of a full-range YUV `frame` on a grid of about 64×64 points.
    init(of frame: UnsafeMutablePointer<AVFrame>) {
        let width = Int(frame.pointee.width)
        let height = Int(frame.pointee.height)
        let stride = Int(frame.pointee.linesize.0)
        guard width > 0, height > 0, let plane = frame.pointee.data.0 else {
            self.init(mean: 0, deviation: 0)
            return
        }
        let stepX = max(1, width / 64)
        let stepY = max(1, height / 64)
        var sum = 0
        var sumOfSquares = 0
        var count = 0
        for y in Swift.stride(from: stepY / 2, to: height, by: stepY) {
            let row = plane + y * stride
            for x in Swift.stride(from: stepX / 2, to: width, by: stepX) {
                let value = Int(row[x])
                sum += value
                sumOfSquares += value * value
                count += 1
            }
        }
        let mean = Double(sum) / Double(count)
        let variance = max(0, Double(sumOfSquares) / Double(count) - mean * mean)
        self.init(mean: mean, deviation: variance.squareRoot())
    }

    init(mean: Double, deviation: Double) {
        self.mean = mean
        self.deviation = deviation
    }
}
