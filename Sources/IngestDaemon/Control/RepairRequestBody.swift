import Foundation

/// The body `POST /repair` may carry instead of `?dry_run=1`: nothing, or a JSON object `{"dry_run": true}`.
/// Anything else is refused (400) rather than ignored: a client that meant a dry run must never get a real
/// repair because its body went unread.
enum RepairRequestBody {
    /// Whether `body` asks for a dry run.
    static func dryRun(_ body: [UInt8]) throws(ControlAPIError) -> Bool {
        guard body.contains(where: { !Self.isSpace($0) }) else { return false }
        let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any]
        guard let object, Set(object.keys).isSubset(of: ["dry_run"]) else {
            throw .badRequest(
                "bad_body",
                #"POST /repair takes no body, or {"dry_run": true|false} (or ?dry_run=1)"#
            )
        }
        guard let value = object["dry_run"] else { return false }
        guard let flag = value as? Bool else {
            throw .badRequest("bad_body", #""dry_run" must be true or false"#)
        }
        return flag
    }

    private static func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D }
}
