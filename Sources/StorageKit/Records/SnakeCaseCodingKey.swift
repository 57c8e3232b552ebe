/// The coding keys of a type whose JSON keys are its property names in snake_case, the one spelling of every key
/// in the SPEC: `projectID` is `project_id`, `sizeBytes` is `size_bytes`. The cases are the property names (their
/// raw values, in the order the keys are encoded); the JSON key is derived from the raw value as
/// `JSONEncoder.KeyEncodingStrategy.convertToSnakeCase` derives it, so it holds whichever encoder or decoder is
/// used, with no strategy set.
///
/// ```swift
/// enum CodingKeys: String, SnakeCaseCodingKey {
///     case projectID, assets, bytes
/// }
/// ```
public protocol SnakeCaseCodingKey: CodingKey, CaseIterable, RawRepresentable<String> {}

extension SnakeCaseCodingKey {
    /// The JSON key: the raw value in snake_case.
    public var stringValue: String { Self.snakeCase(rawValue) }

    /// The case whose JSON key is `stringValue`.
    public init?(stringValue: String) {
        guard let key = Self.allCases.first(where: { $0.stringValue == stringValue }) else { return nil }
        self = key
    }

    /// Always `nil`: the keys are names.
    public var intValue: Int? { nil }

    /// Always `nil`: the keys are names.
    public init?(intValue: Int) { nil }

    /// `name` with an underscore before each word after the first and every letter lower-cased. A word starts at
    /// a capital that follows a lower-case letter or digit (`sizeBytes`), or at the last capital of a run that a
    /// lower-case letter follows (`URLPath` is `url_path`); `projectID` is `project_id`.
    static func snakeCase(_ name: String) -> String {
        let bytes = Array(name.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + 4)
        for (i, byte) in bytes.enumerated() {
            guard Self.isUpper(byte) else {
                out.append(byte)
                continue
            }
            if i > 0 {
                let previous = bytes[i - 1]
                let nextIsLower = i + 1 < bytes.count && Self.isLower(bytes[i + 1])
                if Self.isLower(previous) || Self.isDigit(previous) || (Self.isUpper(previous) && nextIsLower) {
                    out.append(UInt8(ascii: "_"))
                }
            }
            out.append(byte + 0x20)
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func isUpper(_ byte: UInt8) -> Bool { (0x41...0x5A).contains(byte) }
    private static func isLower(_ byte: UInt8) -> Bool { (0x61...0x7A).contains(byte) }
    private static func isDigit(_ byte: UInt8) -> Bool { (0x30...0x39).contains(byte) }
}
