import Foundation
import Testing

@testable import StorageKit

struct UUIDSystemRandomTests {
    /// Asset ids are version-4 UUIDs with the RFC's variant, as Foundation's were, and never repeat.
    @Test func idsAreVersionFourWithTheRFCVariantAndDistinct() {
        let ids = (0..<1_000).map { _ in UUID.systemRandom() }
        #expect(Set(ids).count == ids.count)
        for id in ids {
            let text = id.uuidString.lowercased()
            let characters = Array(text)
            #expect(characters.count == 36)
            #expect(characters[14] == "4", "\(text) is not version 4")
            #expect("89ab".contains(characters[19]), "\(text) does not have the RFC variant")
        }
    }
}
