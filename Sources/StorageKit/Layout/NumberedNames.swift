/// The names tried, in order, for a file whose preferred name may be taken: the name itself, then
/// `<stem>-1<ext>`, `<stem>-2<ext>`, … (`limit` names in all). The bytes are kept as they are: a name that is
/// not UTF-8 is numbered under its own bytes.
public struct NumberedNames: Sequence, IteratorProtocol, Sendable {
    /// How many names a caller tries before it gives up with a conflict.
    public static let defaultLimit = 10_000

    private let stem: [UInt8]
    private let ext: [UInt8]
    private let limit: Int
    private var n = 0

    public init(_ name: [UInt8], limit: Int = NumberedNames.defaultLimit) {
        (stem, ext) = StoredName.split(name)
        self.limit = limit
    }

    public init(_ name: String, limit: Int = NumberedNames.defaultLimit) {
        self.init(Array(name.utf8), limit: limit)
    }

    /// The `n`th name (`0`: the name itself).
    public func name(_ n: Int) -> [UInt8] {
        var name = stem
        if n > 0 { name.append(contentsOf: Array("-\(n)".utf8)) }
        if !ext.isEmpty {
            name.append(0x2E)
            name.append(contentsOf: ext)
        }
        return name
    }

    public mutating func next() -> [UInt8]? {
        guard n < limit else { return nil }
        defer { n += 1 }
        return name(n)
    }
}
