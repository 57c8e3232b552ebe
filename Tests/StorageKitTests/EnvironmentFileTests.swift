import Foundation
import Testing

@testable import IngestConfig

struct EnvironmentFileTests {
    /// `(key, value)` pairs of a parse, in file order.
    static func pairs(_ text: String) throws -> [String] {
        try EnvironmentFile.parse(text, origin: "test.env").map { "\($0.key)=\($0.value)" }
    }

    /// The error `text` must produce.
    static func failure(_ text: String, origin: String = "test.env") -> ConfigurationError? {
        do {
            _ = try EnvironmentFile.parse(text, origin: origin)
            return nil
        } catch {
            return error
        }
    }

    @Test func commentsAndBlankLinesAreSkippedAndLinesAreCounted() throws {
        let text = "# a comment\n; another\n\n   \n\t# indented comment\nA=1\n\nB=2"
        let entries = try EnvironmentFile.parse(text, origin: "x")
        #expect(entries == [.init(key: "A", value: "1", line: 6), .init(key: "B", value: "2", line: 8)])
    }

    @Test(arguments: [
        // plain values
        ("A=1", "A=1"),
        ("A=", "A="),
        ("A=hello world", "A=hello world"),
        ("A=trailing   \t", "A=trailing"),
        ("A = spaced", "A=spaced"),
        ("A=x=y", "A=x=y"),
        ("_UNDER_9=v", "_UNDER_9=v"),
        // export prefix
        ("export A=1", "A=1"),
        ("export\tA=1", "A=1"),
        ("  export   A=1", "A=1"),
        // inline comments only after a blank on unquoted values
        ("A=value # comment", "A=value"),
        ("A=value\t# comment", "A=value"),
        ("A=val#ue", "A=val#ue"),
        ("A=#notacomment", "A=#notacomment"),
        // single quotes: literal
        (#"A='x\n$HOME "q" \t'"#, #"A=x\n$HOME "q" \t"#),
        ("A='with # hash'", "A=with # hash"),
        ("A='  padded  '", "A=  padded  "),
        ("A='' # empty", "A="),
        // double quotes: escapes
        (#"A="a\"b""#, #"A=a"b"#),
        (#"A="back\\slash""#, #"A=back\slash"#),
        (#"A="line\nbreak""#, "A=line\nbreak"),
        (#"A="tab\there""#, "A=tab\there"),
        (#"A="\$HOME and \`x\`""#, "A=$HOME and `x`"),
        (#"A="unknown \q kept""#, #"A=unknown \q kept"#),
        (#"A="with # hash" # then a comment"#, "A=with # hash"),
        (#"A="  padded  ""#, "A=  padded  "),
    ])
    func assignments(line: String, expected: String) throws {
        #expect(try Self.pairs(line) == [expected])
    }

    @Test func crlfLineEndingsAreAccepted() throws {
        let text = "# comment\r\nA=1\r\nB='two'\r\nC=\"three\"\r\n\r\nD=4 # c\r\n"
        let entries = try EnvironmentFile.parse(text, origin: "x")
        #expect(entries.map(\.key) == ["A", "B", "C", "D"])
        #expect(entries.map(\.value) == ["1", "two", "three", "4"])
        #expect(entries.map(\.line) == [2, 3, 4, 6])
    }

    /// A file saved by an editor that writes a byte-order mark first (audit: refused with an invisible
    /// character in the message).
    @Test func aByteOrderMarkAtTheStartIsNotPartOfTheFirstKey() throws {
        #expect(try Self.pairs("\u{FEFF}LOG_LEVEL=warning\r\nA=1\r\n") == ["LOG_LEVEL=warning", "A=1"])
        #expect(try Self.pairs("\u{FEFF}# a comment\nA=1") == ["A=1"])
    }

    @Test(arguments: [
        ("A=\"unterminated", "\""),
        ("A='unterminated", "'"),
        ("A=\"ends in backslash\\", "\""),
        ("A=\"escaped close\\\"", "\""),
    ])
    func missingClosingQuoteNamesFileAndLine(line: String, quote: String) throws {
        let error = try #require(Self.failure("# first\nB=2\n" + line + "\nC=3", origin: "/etc/ingestd/ingestd.env"))
        #expect(error.origin == "/etc/ingestd/ingestd.env:3")
        #expect(error.key == "A")
        #expect(error.allowed == "missing closing \(quote)")
        #expect(error.description.contains("/etc/ingestd/ingestd.env:3"))
    }

    @Test(arguments: ["just some words", "A", "export", "  # fine\n=value"])
    func aLineWithoutAKeyAndEqualsSignIsAnError(text: String) throws {
        let error = try #require(Self.failure(text))
        #expect(error.key == nil)
        #expect(error.origin.hasPrefix("test.env:"))
        #expect(error.description.hasPrefix(error.origin + ": expected"))
    }

    @Test func lineNumberOfAMissingEqualsSign() throws {
        let error = try #require(Self.failure("A=1\n\n# c\nNOT AN ASSIGNMENT\n", origin: "f.env"))
        #expect(error.origin == "f.env:4")
        #expect(error.value == "NOT AN ASSIGNMENT")
        #expect(error.allowed == "expected KEY=VALUE")
        #expect(error.description == "f.env:4: expected KEY=VALUE: NOT AN ASSIGNMENT")
    }

    @Test(arguments: ["1A=x", "A-B=x", "A B=x", "ÄB=x", "a.b=x"])
    func invalidKeysAreErrors(line: String) throws {
        let error = try #require(Self.failure(line))
        #expect(error.origin == "test.env:1")
        #expect(error.allowed == "expected a key of letters, digits and _")
    }

    @Test(arguments: [#"A="x" y"#, "A='x'y"])
    func textAfterTheClosingQuoteIsAnError(line: String) throws {
        let error = try #require(Self.failure(line))
        #expect(error.key == "A")
        #expect(error.allowed == "unexpected text after the closing quote")
        #expect(error.origin == "test.env:1")
    }

    @Test func repeatedKeysAreKeptInOrder() throws {
        // The resolver applies them in order, so the last one wins.
        #expect(try Self.pairs("A=1\nA=2") == ["A=1", "A=2"])
    }

    @Test func emptyTextHasNoEntries() throws {
        #expect(try EnvironmentFile.parse("", origin: "x").isEmpty)
        #expect(try EnvironmentFile.parse("\n\n# only comments\n", origin: "x").isEmpty)
    }
}
