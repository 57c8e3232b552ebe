/// The names tried, in order, for a file whose preferred name may be taken: the name itself, then
/// `<stem>-1<ext>`, `<stem>-2<ext>`, … (`limit` names in all). The bytes are kept as they are: a name that is
/// not UTF-8 is numbered under its own bytes. A name longer than `maxBytes` (with its number) is cut in its
/// stem, just enough, keeping its extension; between two characters, or two bytes for a name that is not
/// UTF-8. An extension too long to leave a byte of stem is cut with the rest of the name.
public struct NumberedNames: Sequence, IteratorProtocol, Sendable {
    /// How many names a caller tries before it gives up with a conflict.
    public static let defaultLimit = 10_000

    private let stem: [UInt8]
    private let ext: [UInt8]
    private let limit: Int
    private let maxBytes: Int
    /// Whether the name is UTF-8: a cut then never falls inside a character.
    private let isUTF8: Bool
    private var n = 0

    public init(_ name: [UInt8], limit: Int = NumberedNames.defaultLimit, maxBytes: Int = .max) {
        (stem, ext) = StoredName.split(name)
        self.limit = limit
        self.maxBytes = maxBytes
        isUTF8 = String(validating: name, as: UTF8.self) != nil
    }

    public init(_ name: String, limit: Int = NumberedNames.defaultLimit, maxBytes: Int = .max) {
        self.init(Array(name.utf8), limit: limit, maxBytes: maxBytes)
    }

    /// The `n`th name (`0`: the name itself).
    public func name(_ n: Int) -> [UInt8] {
        let number = n > 0 ? Array("-\(n)".utf8) : []
        let dotExt = ext.isEmpty ? [] : [0x2E] + ext
        if stem.count + number.count + dotExt.count <= maxBytes { return stem + number + dotExt }
        let cutStem = cut(stem, to: maxBytes - number.count - dotExt.count)
        if !cutStem.isEmpty { return cutStem + number + dotExt }
        return cut(stem + dotExt, to: maxBytes - number.count) + number
    }

    /// `bytes` cut to at most `count` bytes, never inside a character of a UTF-8 name.
    private func cut(_ bytes: [UInt8], to count: Int) -> [UInt8] {
        Self.prefix(of: bytes, maxBytes: count, keepingCharacters: isUTF8)
    }

    /// The first `maxBytes` bytes of `bytes` (all of them when they fit); with `keepingCharacters` (UTF-8 text),
    /// fewer rather than a character cut in two.
    static func prefix(of bytes: [UInt8], maxBytes: Int, keepingCharacters: Bool) -> [UInt8] {
        guard bytes.count > maxBytes else { return bytes }
        var end = Swift.max(maxBytes, 0)
        // A continuation byte (10xxxxxx) at the cut belongs to the character before it.
        while keepingCharacters, end > 0, bytes[end] & 0xC0 == 0x80 { end -= 1 }
        return Array(bytes[..<end])
    }

    public mutating func next() -> [UInt8]? {
        guard n < limit else { return nil }
        defer { n += 1 }
        return name(n)
    }
}
