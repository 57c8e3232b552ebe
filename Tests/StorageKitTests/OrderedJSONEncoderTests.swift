import Foundation
import Testing

@testable import StorageKit

/// Control answers (`/health`, statistics, summaries) keep the SPEC's key order: the order the value encodes them.
struct OrderedJSONEncoderTests {
    struct Health: Encodable {
        struct Queues: Encodable {
            let ingest: Int
            let thumbnails: Int
            let renditions: Int
        }
        let status: String
        let node: String
        let version: String
        let uptimeSeconds: Double
        let queues: Queues
        let reasons: [String]?
        let path: String

        enum CodingKeys: String, CodingKey {
            case status, node, version
            case uptimeSeconds = "uptime_seconds"
            case queues, reasons, path
        }
    }

    @Test func keysComeInDeclarationOrderEveryTime() throws {
        let health = Health(
            status: "ok",
            node: "vm",
            version: "1",
            uptimeSeconds: 12,
            queues: .init(ingest: 1, thumbnails: 2, renditions: 3),
            reasons: nil,
            path: "a/b \"c\""
        )
        let text = String(decoding: try OrderedJSONEncoder().encode(health), as: UTF8.self)
        #expect(
            text
                == #"{"status":"ok","node":"vm","version":"1","uptime_seconds":12.0,"queues":{"ingest":1,"thumbnails":2,"renditions":3},"path":"a/b \"c\""}"#
        )
    }

    @Test func theSameObjectAsJSONEncoderWrites() throws {
        struct Mixed: Encodable {
            let list: [Int]
            let nested: [[String: Int]]
            let flag: Bool
            let none: String?
            let big: Int64
            let fraction: Double
            let text: String
        }
        let value = Mixed(
            list: [1, 2, 3],
            nested: [["a": 1], ["b": 2]],
            flag: true,
            none: nil,
            big: Int64.max,
            fraction: 0.1,
            text: "tab\there ü \u{01}"
        )
        let ours = try JSONSerialization.jsonObject(with: Data(try OrderedJSONEncoder().encode(value))) as? NSDictionary
        let theirs = try JSONSerialization.jsonObject(with: try JSONEncoder().encode(value)) as? NSDictionary
        #expect(ours != nil && ours == theirs)
    }

    @Test func statisticsListTheCategoriesInTheLayoutsOrder() throws {
        var categories: [String: CategoryUsage] = [:]
        for category in StorageCategory.allCases { categories[category.rawValue] = .zero }
        let stats = StorageStatistics(root: "/s", projectID: "p", categories: categories)
        let text = String(decoding: try OrderedJSONEncoder().encode(stats), as: UTF8.self)
        let order = StorageCategory.allCases.map { text.range(of: "\"\($0.rawValue)\":")!.lowerBound }
        #expect(order == order.sorted())
        #expect(text.hasPrefix(#"{"root":"/s","project_id":"p","categories":{"#))
    }

    @Test func topLevelArraysAndNonFiniteNumbers() throws {
        #expect(String(decoding: try OrderedJSONEncoder().encode([1.5, .infinity]), as: UTF8.self) == "[1.5,null]")
        #expect(String(decoding: try OrderedJSONEncoder().encode([String]()), as: UTF8.self) == "[]")
    }
}
