import ArgumentParser
import Testing

@testable import ingestctl

/// ingestctl's own pieces, without a daemon: JSON of any shape, tables, sizes, and argument validation.
/// (End-to-end runs of the built `ingestctl` against a daemon are in IngestDaemonTests: `ControlCtlTests`.)
struct RenderTests {
    @Test func jsonOfAnyShapeIsParsedAndNonJSONIsNil() {
        let value = JSONValue.parse(Array(#"{"a": 1, "b": [true, null, 2.5, "x"], "c": {"d": "e"}}"#.utf8))
        guard case .object(let o) = value else {
            Issue.record("not an object: \(String(describing: value))")
            return
        }
        guard case .int(1) = o["a"] else {
            Issue.record("a: \(String(describing: o["a"]))")
            return
        }
        guard case .array(let items) = o["b"], items.count == 4, case .bool(true) = items[0], case .null = items[1],
            case .double(2.5) = items[2], case .string("x") = items[3]
        else {
            Issue.record("b: \(String(describing: o["b"]))")
            return
        }
        #expect(JSONValue.parse(Array("not json".utf8)) == nil)
        #expect(JSONValue.parse([]) == nil)
    }

    @Test func tablesAlignColumnsAndLeaveTheLastUnpadded() {
        let text = Render.table(["ID", "NAME", "SIZE"], [["a1", "clip.mp4", "1.5 MiB"], ["b22222", "x", "3 B"]])
        #expect(
            text == """
                ID      NAME      SIZE
                a1      clip.mp4  1.5 MiB
                b22222  x         3 B
                """
        )
        #expect(Render.table(["ONLY"], []) == "ONLY")
    }

    @Test(arguments: [
        (Int64?.none, "-"), (0, "0 B"), (1023, "1023 B"), (1024, "1.0 KiB"), (1536, "1.5 KiB"),
        (5 << 20, "5.0 MiB"), (3 << 30, "3.0 GiB"), (Int64.max, "8388608.0 TiB"),
    ])
    func sizesAreHumanReadable(bytes: Int64?, text: String) {
        #expect(Render.size(bytes) == text)
    }

    @Test func keyValuesNestObjectsInSortedOrder() {
        let value = JSONValue.parse(Array(#"{"status": "ok", "queues": {"ingest": 0, "thumbnails": 2}}"#.utf8))!
        #expect(
            Render.keyValues(value) == """
                queues:
                  ingest: 0
                  thumbnails: 2
                status: ok
                """
        )
    }

    @Test func projectIDsAreCheckedBeforeAnythingIsSent() throws {
        #expect(throws: (any Error).self) { try IngestCtl.parseAsRoot(["list", "bad project!"]) }
        #expect(throws: (any Error).self) { try IngestCtl.parseAsRoot(["events", "--since", "-1"]) }
        _ = try IngestCtl.parseAsRoot(["list", "demo_1"])
    }
}

/// `ingestctl --socket S bogus` said "Unknown option '--socket'" (audit) while `ingestctl bogus` names the real
/// problem: global options before an unknown command are not moved behind it.
struct GlobalOptionTests {
    @Test(arguments: [
        ["bogus"], ["--socket", "/s", "bogus"], ["--json", "bogus", "x"], ["--socket=/s", "--config", "c", "bogus"],
    ])
    func anUnknownCommandIsWhatIsReported(_ arguments: [String]) {
        do {
            _ = try IngestCtl.parseAsRoot(hoistingGlobalOptions(arguments))
            Issue.record("\(arguments) parsed")
        } catch {
            let message = IngestCtl.message(for: error)
            #expect(message.contains("'bogus'"), "\(arguments): \(message)")
            #expect(!message.contains("--socket") && !message.contains("--json"), "\(arguments): \(message)")
        }
    }

    @Test func globalOptionsStillGoBehindAKnownCommand() throws {
        #expect(hoistingGlobalOptions(["--socket", "/s", "list", "p"]) == ["list", "--socket", "/s", "p"])
        #expect(hoistingGlobalOptions(["--json", "--config=c", "health"]) == ["health", "--json", "--config=c"])
        _ = try IngestCtl.parseAsRoot(hoistingGlobalOptions(["--socket", "/s", "--json", "list", "demo"]))
    }
}

/// `ingestctl events` in text names the node and the rendition an event carries (audit: they were left out, so
/// a several-node site could not tell who did what).
struct EventTextTests {
    @Test func theNodeRenditionAndStepAreShown() {
        let line = Array(
            #"{"id":7,"type":"failed","at":"2026-12-08T00:00:00.000Z","node":"n2","project_id":"p","asset_id":"a1","filename":"c.mp4","step":"rendition","rendition":"180p","error":"rendition 180p of p/c.mp4 could not be made"}"#
                .utf8
        )
        #expect(
            IngestCtl.Events.eventText(line)
                == "7  2026-12-08T00:00:00.000Z  failed  p  node=n2  asset_id=a1  filename=c.mp4  rendition=180p  "
                + "step=rendition  error=rendition 180p of p/c.mp4 could not be made"
        )
        #expect(IngestCtl.Events.eventText(Array("not json".utf8)) == "not json")
    }
}
