import Foundation

/// One SQL value as both backends store it: the catalog's columns hold only integers, text, reals and NULL.
public enum CatalogValue: Sendable, Equatable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
}

/// A Swift value that binds to a statement argument.
protocol CatalogBindable {
    var catalogValue: CatalogValue { get }
}

extension String: CatalogBindable {
    var catalogValue: CatalogValue { .text(self) }
}

extension Int64: CatalogBindable {
    var catalogValue: CatalogValue { .integer(self) }
}

extension Int: CatalogBindable {
    var catalogValue: CatalogValue { .integer(Int64(self)) }
}

extension Double: CatalogBindable {
    var catalogValue: CatalogValue { .real(self) }
}

extension Optional: CatalogBindable where Wrapped: CatalogBindable {
    var catalogValue: CatalogValue { self?.catalogValue ?? .null }
}

/// A Swift value read from a column.
protocol CatalogDecodable {
    /// `nil` when the stored value does not convert (a NULL, or another type).
    static func decode(_ value: CatalogValue) -> Self?
}

extension String: CatalogDecodable {
    static func decode(_ value: CatalogValue) -> String? {
        if case .text(let s) = value { return s }
        return nil
    }
}

extension Int64: CatalogDecodable {
    static func decode(_ value: CatalogValue) -> Int64? {
        switch value {
        case .integer(let i): return i
        case .real(let d): return Int64(exactly: d)
        default: return nil
        }
    }
}

extension Int: CatalogDecodable {
    static func decode(_ value: CatalogValue) -> Int? { Int64.decode(value).flatMap { Int(exactly: $0) } }
}

extension Double: CatalogDecodable {
    static func decode(_ value: CatalogValue) -> Double? {
        switch value {
        case .real(let d): return d
        case .integer(let i): return Double(i)
        default: return nil
        }
    }
}

/// One result row, read by column position (the order of the SELECT list).
struct CatalogRow: Sendable {
    var values: [CatalogValue]

    /// The value of column `index`; throws when it is NULL or of another type (a damaged catalog).
    func get<T: CatalogDecodable>(_ index: Int, as type: T.Type = T.self) throws -> T {
        try value(at: index, named: "catalog column \(index)")
    }

    /// The value at `index`, converted; a NULL or another type throws, naming the column `name`.
    func value<T: CatalogDecodable>(at index: Int, named name: @autoclosure () -> String) throws -> T {
        guard index < values.count, let value = T.decode(values[index]) else {
            throw StorageError.invalidValue(
                name(),
                index < values.count ? "\(values[index])" : "(missing)",
                "expected \(T.self)"
            )
        }
        return value
    }

    /// The value of column `index`, `nil` when it is NULL.
    func optional<T: CatalogDecodable>(_ index: Int, as type: T.Type = T.self) throws -> T? {
        guard index < values.count, values[index] != .null else { return nil }
        return try get(index, as: type)
    }
}

/// `?, ?, ?`: `count` bind markers (at least one), for statements whose argument count varies (the PostgreSQL
/// connection numbers them).
func bindMarkers(_ count: Int) -> String {
    Array(repeating: "?", count: max(count, 1)).joined(separator: ", ")
}
