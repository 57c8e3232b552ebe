import IngestConfig

/// Encodes any `Encodable` value as JSON with each object's keys in the order the value encodes them (for
/// synthesized conformances: declaration order, which is the SPEC's order), where Foundation's `JSONEncoder`
/// on Linux orders them by hash, differently on each run. Numbers are written as `OrderedJSON` writes them
/// (floating-point values always with a fraction); slashes are not escaped; `nil` optionals are left out, as
/// synthesized conformances ask.
public struct OrderedJSONEncoder: Sendable {
    public init() {}

    /// The JSON text of `value`.
    public func encode(_ value: some Encodable) throws -> [UInt8] {
        let root = JSONNode()
        try value.encode(to: NodeEncoder(node: root, codingPath: []))
        var out: [UInt8] = []
        root.write(into: &out)
        return out
    }
}

/// One value of the tree an encoding builds; containers hand out their children before they are filled.
final class JSONNode {
    enum Value {
        case null
        case bool(Bool)
        case string(String)
        /// A number's JSON text.
        case number(String)
        case array([JSONNode])
        case object([(key: String, node: JSONNode)])
    }

    var value: Value = .null

    func write(into out: inout [UInt8]) {
        switch value {
        case .null: out.append(contentsOf: Array("null".utf8))
        case .bool(let b): out.append(contentsOf: Array((b ? "true" : "false").utf8))
        case .string(let s): JSONText.appendString(s, to: &out)
        case .number(let text): out.append(contentsOf: Array(text.utf8))
        case .array(let nodes):
            out.append(UInt8(ascii: "["))
            for (i, node) in nodes.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                node.write(into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for (i, member) in members.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                JSONText.appendString(member.key, to: &out)
                out.append(UInt8(ascii: ":"))
                member.node.write(into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// A new member `key` of this object (which it becomes if it was not one), replacing an earlier one.
    func member(_ key: String) -> JSONNode {
        let child = JSONNode()
        var members: [(key: String, node: JSONNode)] = []
        if case .object(let existing) = value { members = existing }
        value = .null  // the only reference left: appending does not copy
        if let index = members.firstIndex(where: { $0.key == key }) {
            members[index].node = child
        } else {
            members.append((key, child))
        }
        value = .object(members)
        return child
    }

    /// A new element at the end of this array (which it becomes if it was not one).
    func element() -> JSONNode {
        let child = JSONNode()
        var nodes: [JSONNode] = []
        if case .array(let existing) = value { nodes = existing }
        value = .null  // the only reference left: appending does not copy
        nodes.append(child)
        value = .array(nodes)
        return child
    }

    func becomeObject() { if case .object = value {} else { value = .object([]) } }
    func becomeArray() { if case .array = value {} else { value = .array([]) } }

    var count: Int {
        if case .array(let nodes) = value { return nodes.count }
        return 0
    }
}

private struct NodeEncoder: Encoder {
    let node: JSONNode
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        node.becomeObject()
        return KeyedEncodingContainer(KeyedNodeContainer(node: node, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        node.becomeArray()
        return UnkeyedNodeContainer(node: node, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        SingleNodeContainer(node: node, codingPath: codingPath)
    }
}

private struct KeyedNodeContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let node: JSONNode
    let codingPath: [any CodingKey]

    mutating func encodeNil(forKey key: Key) throws { node.member(key.stringValue).value = .null }

    mutating func encode(_ value: some Encodable, forKey key: Key) throws {
        try value.encode(to: NodeEncoder(node: node.member(key.stringValue), codingPath: codingPath + [key]))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type,
        forKey key: Key
    ) -> KeyedEncodingContainer<NestedKey> {
        NodeEncoder(node: node.member(key.stringValue), codingPath: codingPath + [key]).container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        NodeEncoder(node: node.member(key.stringValue), codingPath: codingPath + [key]).unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder {
        NodeEncoder(node: node.member("super"), codingPath: codingPath)
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        NodeEncoder(node: node.member(key.stringValue), codingPath: codingPath + [key])
    }
}

private struct UnkeyedNodeContainer: UnkeyedEncodingContainer {
    let node: JSONNode
    let codingPath: [any CodingKey]
    var count: Int { node.count }

    mutating func encodeNil() throws { node.element().value = .null }

    mutating func encode(_ value: some Encodable) throws {
        try value.encode(to: NodeEncoder(node: node.element(), codingPath: codingPath))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type
    ) -> KeyedEncodingContainer<NestedKey> {
        NodeEncoder(node: node.element(), codingPath: codingPath).container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        NodeEncoder(node: node.element(), codingPath: codingPath).unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder { NodeEncoder(node: node.element(), codingPath: codingPath) }
}

private struct SingleNodeContainer: SingleValueEncodingContainer {
    let node: JSONNode
    let codingPath: [any CodingKey]

    mutating func encodeNil() throws { node.value = .null }
    mutating func encode(_ value: Bool) throws { node.value = .bool(value) }
    mutating func encode(_ value: String) throws { node.value = .string(value) }
    mutating func encode(_ value: Double) throws { node.value = value.isFinite ? .number("\(value)") : .null }
    mutating func encode(_ value: Float) throws { try encode(Double(value)) }
    mutating func encode(_ value: Int) throws { node.value = .number(String(value)) }
    mutating func encode(_ value: Int8) throws { node.value = .number(String(value)) }
    mutating func encode(_ value: Int16) throws { node.value = .number(String(value)) }
    mutating func encode(_ value: Int32) throws { node.value = .number(String(value)) }
    mutating func encode(_ value: Int64) throws { node.value = .number(String(value)) }
    mutating func encode(_ value: UInt) throws { node.value = .number(String(value)) }
    mutating func encode(_ value: UInt8) throws { node.value = .number(String(value)) }
    mutating func encode(_ value: UInt16) throws { node.value = .number(String(value)) }
    mutating func encode(_ value: UInt32) throws { node.value = .number(String(value)) }
    mutating func encode(_ value: UInt64) throws { node.value = .number(String(value)) }

    mutating func encode(_ value: some Encodable) throws {
        try value.encode(to: NodeEncoder(node: node, codingPath: codingPath))
    }
}
