/// A strict parser for `KEY=VALUE` files in the format of systemd's `EnvironmentFile=` and of `.env`
/// files: blank lines, comment lines starting with `#` or `;`, an optional `export ` before the key,
/// values optionally in single quotes (literal) or double quotes (with `\"`, `\\`, `\n`, `\t`, `\$`
/// escapes). A line that is none of these is an error naming its line number. A byte-order mark at the start
/// (what some Windows editors write before UTF-8) is not part of the first line.
public enum EnvironmentFile {
    /// One assignment and where it was found.
    public struct Entry: Sendable, Equatable {
        public let key: String
        public let value: String
        public let line: Int
    }

    /// Parses `text`; `origin` (usually the file path) is used in error messages.
    public static func parse(_ text: String, origin: String) throws(ConfigurationError) -> [Entry] {
        var entries: [Entry] = []
        var lineNumber = 0
        let text = text.hasPrefix("\u{FEFF}") ? text.dropFirst() : Substring(text)
        // "\r\n" is one Character in Swift, so CRLF line ends must be split on explicitly.
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            lineNumber += 1
            var line = Substring(rawLine)
            if line.hasSuffix("\r") { line = line.dropLast() }
            line = line.drop(while: { $0 == " " || $0 == "\t" })
            if line.isEmpty || line.first == "#" || line.first == ";" { continue }
            if line.hasPrefix("export ") || line.hasPrefix("export\t") {
                line = line.dropFirst(7).drop(while: { $0 == " " || $0 == "\t" })
            }
            let at = "\(origin):\(lineNumber)"
            guard let eq = line.firstIndex(of: "=") else {
                throw ConfigurationError(key: nil, value: String(rawLine), allowed: "expected KEY=VALUE", origin: at)
            }
            let key = String(line[..<eq].trimmingTrailingBlanks())
            guard isValidKey(key) else {
                throw ConfigurationError(
                    key: nil,
                    value: String(rawLine),
                    allowed: "expected a key of letters, digits and _",
                    origin: at
                )
            }
            let rest = line[line.index(after: eq)...].drop(while: { $0 == " " || $0 == "\t" })
            let value = try parseValue(rest, key: key, origin: at)
            entries.append(Entry(key: key, value: value, line: lineNumber))
        }
        return entries
    }

    private static func isValidKey(_ key: String) -> Bool {
        guard let first = key.unicodeScalars.first, first == "_" || first.isASCIILetter
        else { return false }
        return key.unicodeScalars.allSatisfy { $0 == "_" || $0.isASCIILetter || ("0"..."9").contains($0) }
    }

    private static func parseValue(_ raw: Substring, key: String, origin: String) throws(ConfigurationError) -> String {
        guard let quote = raw.first, quote == "\"" || quote == "'" else {
            // Unquoted: trailing blanks are not part of the value; an inline ` #` starts a comment as in .env files.
            var value = raw
            var previous: Character = "x"
            for i in value.indices {
                if value[i] == "#" && (previous == " " || previous == "\t") {
                    value = value[..<i]
                    break
                }
                previous = value[i]
            }
            return String(value.trimmingTrailingBlanks())
        }
        var out = ""
        var index = raw.index(after: raw.startIndex)
        while index < raw.endIndex {
            let ch = raw[index]
            if ch == quote {
                let tail = raw[raw.index(after: index)...].drop(while: { $0 == " " || $0 == "\t" })
                guard tail.isEmpty || tail.first == "#" else {
                    throw ConfigurationError(
                        key: key,
                        value: String(raw),
                        allowed: "unexpected text after the closing quote",
                        origin: origin
                    )
                }
                return out
            }
            if ch == "\\" && quote == "\"" {
                let next = raw.index(after: index)
                guard next < raw.endIndex else { break }
                switch raw[next] {
                case "n": out.append("\n")
                case "t": out.append("\t")
                case "\"", "\\", "$", "`": out.append(raw[next])
                default:
                    out.append("\\")
                    out.append(raw[next])
                }
                index = raw.index(after: next)
                continue
            }
            out.append(ch)
            index = raw.index(after: index)
        }
        throw ConfigurationError(key: key, value: String(raw), allowed: "missing closing \(quote)", origin: origin)
    }
}

extension Substring {
    fileprivate func trimmingTrailingBlanks() -> Substring {
        var s = self
        while let last = s.last, last == " " || last == "\t" { s = s.dropLast() }
        return s
    }
}

extension Unicode.Scalar {
    fileprivate var isASCIILetter: Bool { ("a"..."z").contains(self) || ("A"..."Z").contains(self) }
}
