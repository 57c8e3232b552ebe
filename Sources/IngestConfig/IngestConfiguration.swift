#if canImport(Glibc)
import Glibc
#endif

/// What to do with a file whose SHA-256 already exists in the same project.
public enum DuplicatePolicy: String, Sendable, CaseIterable {
    case reject, keep
}

/// Log levels by the names `LOG_LEVEL` accepts (swift-log's levels).
public enum LogLevelName: String, Sendable, CaseIterable {
    case trace, debug, info, notice, warning, error, critical
}

/// Every setting of the SPEC's configuration table, typed and validated.
///
/// Built by ``resolve(fileText:fileOrigin:environment:flags:)``: defaults, then the `--config` file,
/// then the process environment, then command-line flags; later wins.
public struct IngestConfiguration: Sendable, Equatable {
    public var storagePath: String = "./storage"
    public var dropPath: String = "./drop"
    /// `nil` until resolved; ``controlSocketPath`` applies the SPEC's default.
    public var controlSocket: String? = nil
    public var uploadMaxSize: Int64 = 104_857_600
    /// Lower-case extensions without dots, in the order given.
    public var allowedExtensions: [String] = ["mp4", "mov", "avi"]
    public var ffmpegThreads: Int = 2
    public var videoOutputFormat: String = "mp4"
    public var thumbnailWidth: Int = 320
    public var settleMS: Int = 1000
    public var defaultProject: String = "default"
    public var duplicates: DuplicatePolicy = .reject
    public var controlSocketMode: UInt32 = 0o660
    public var controlSocketGroup: String? = nil
    public var logLevel: LogLevelName = .info
    public var minFreeBytes: Int64 = 268_435_456
    public var catalogURL: String = "sqlite:"
    public var projectQuotaBytes: Int64 = 0
    /// Rendition ladder steps to make of every asset, in the order given (`RENDITIONS`); empty for none.
    public var renditions: [RenditionStep] = [.p720]
    /// Seconds between sprite frames (`SPRITE_INTERVAL`).
    public var spriteInterval: SpriteInterval = .auto
    /// This node's name (`NODE_ID`); the host name by default.
    public var nodeID: String = IngestConfiguration.hostName()
    /// `RUNTIME_DIRECTORY` as systemd set it (not a configuration key; it only changes a default).
    public var runtimeDirectory: String? = nil

    public init() {}

    /// `CONTROL_SOCKET`, or `$RUNTIME_DIRECTORY/control.sock` under systemd, else `STORAGE_PATH/ingestd.sock`.
    public var controlSocketPath: String {
        if let controlSocket { return controlSocket }
        if let runtimeDirectory, !runtimeDirectory.isEmpty {
            // systemd may list several directories separated by ':'; the first is ours.
            let first = runtimeDirectory.split(separator: ":").first.map(String.init) ?? runtimeDirectory
            return first + "/control.sock"
        }
        return (storagePath.hasSuffix("/") ? String(storagePath.dropLast()) : storagePath) + "/ingestd.sock"
    }

    /// Whether `ext` (any case, with or without a leading dot) is allowed.
    public func allows(extension ext: String) -> Bool {
        let e = (ext.hasPrefix(".") ? String(ext.dropFirst()) : ext).lowercased()
        return !e.isEmpty && allowedExtensions.contains(e)
    }

    /// Sets `key` from its textual `value`; throws a ``ConfigurationError`` naming key, value and what is allowed.
    public mutating func set(_ key: ConfigKey, _ value: String, origin: String) throws(ConfigurationError) {
        func fail(_ allowed: String) -> ConfigurationError {
            ConfigurationError(key: key.rawValue, value: value, allowed: allowed, origin: origin)
        }
        switch key {
        case .storagePath:
            guard !value.isEmpty, !value.utf8.contains(0) else { throw fail("expected a directory path") }
            storagePath = value
        case .dropPath:
            guard !value.isEmpty, !value.utf8.contains(0) else { throw fail("expected a directory path") }
            dropPath = value
        case .controlSocket:
            guard !value.isEmpty, !value.utf8.contains(0) else { throw fail("expected a socket path") }
            // sockaddr_un.sun_path holds 108 bytes including the terminating NUL.
            guard value.utf8.count <= 107 else { throw fail("expected a socket path of at most 107 bytes") }
            controlSocket = value
        case .uploadMaxSize:
            guard let n = Self.parseSize(value), n >= 1 else {
                throw fail("expected a size in bytes ≥ 1 (e.g. 104857600 or 100M)")
            }
            uploadMaxSize = n
        case .allowedExtensions:
            let list = value.split(separator: ",").map {
                var e = $0.trimmingCharacters(inSet: " \t").lowercased()
                if e.hasPrefix(".") { e.removeFirst() }
                return e
            }
            guard !list.isEmpty,
                list.allSatisfy({ e in
                    !e.isEmpty && e.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) }
                })
            else { throw fail("expected a comma-separated list of extensions such as mp4,mov,avi") }
            var seen = Set<String>()
            allowedExtensions = list.filter { seen.insert($0).inserted }
        case .ffmpegThreads:
            guard let n = Int(value), (1...64).contains(n) else { throw fail("expected an integer from 1 to 64") }
            ffmpegThreads = n
        case .videoOutputFormat:
            let v = value.lowercased()
            guard ["mp4", "webm"].contains(v) else { throw fail("expected mp4 (H.264 + AAC) or webm (VP9 + Opus)") }
            videoOutputFormat = v
        case .thumbnailWidth:
            guard let n = Int(value), (16...3840).contains(n) else { throw fail("expected an integer from 16 to 3840") }
            thumbnailWidth = n
        case .settleMS:
            guard let n = Int(value), (0...3_600_000).contains(n) else {
                throw fail("expected milliseconds from 0 to 3600000")
            }
            settleMS = n
        case .defaultProject:
            guard ProjectIDRule.isValid(value) else { throw fail("expected 1 to 64 characters from A-Z a-z 0-9 _ -") }
            defaultProject = value
        case .duplicates:
            guard let p = DuplicatePolicy(rawValue: value.lowercased()) else { throw fail("expected reject or keep") }
            duplicates = p
        case .controlSocketMode:
            guard let m = UInt32(value.hasPrefix("0o") ? String(value.dropFirst(2)) : value, radix: 8), m <= 0o777
            else {
                throw fail("expected octal permission bits such as 0660")
            }
            controlSocketMode = m
        case .controlSocketGroup:
            if value.isEmpty {
                controlSocketGroup = nil
                return
            }
            guard value.utf8.count <= 64, !value.contains(":"), !value.utf8.contains(0), !value.contains(" ") else {
                throw fail("expected a group name or numeric gid")
            }
            controlSocketGroup = value
        case .logLevel:
            guard let l = LogLevelName(rawValue: value.lowercased()) else {
                throw fail("expected one of " + LogLevelName.allCases.map(\.rawValue).joined(separator: ", "))
            }
            logLevel = l
        case .minFreeBytes:
            guard let n = Self.parseSize(value) else {
                throw fail("expected a size in bytes ≥ 0 (e.g. 268435456 or 256M)")
            }
            minFreeBytes = n
        case .catalogURL:
            do {
                _ = try CatalogURL.parse(value)
            } catch {
                // The message names the URL without its password.
                throw ConfigurationError(key: key.rawValue, value: error.url, allowed: error.reason, origin: origin)
            }
            catalogURL = value
        case .projectQuotaBytes:
            guard let n = Self.parseSize(value) else { throw fail("expected a size in bytes ≥ 0 (0 is unlimited)") }
            projectQuotaBytes = n
        case .renditions:
            let names = value.split(separator: ",", omittingEmptySubsequences: false)
                .map { $0.trimmingCharacters(inSet: " \t").lowercased() }
            if names.count == 1, names[0].isEmpty {
                renditions = []
                return
            }
            var steps: [RenditionStep] = []
            for name in names {
                guard let step = RenditionStep(rawValue: name) else {
                    throw fail(
                        "expected a comma-separated list from "
                            + RenditionStep.allCases.map(\.rawValue).joined(separator: ",") + ", or empty for none"
                    )
                }
                if !steps.contains(step) { steps.append(step) }
            }
            renditions = steps
        case .spriteInterval:
            let v = value.trimmingCharacters(inSet: " \t").lowercased()
            if v == "auto" {
                spriteInterval = .auto
                return
            }
            guard let seconds = Double(v), seconds.isFinite, seconds >= 0, seconds <= 86_400 else {
                throw fail("expected auto, 0 for none, or seconds from 0.1 to 86400")
            }
            if seconds == 0 {
                spriteInterval = .none
                return
            }
            guard seconds >= 0.1 else { throw fail("expected auto, 0 for none, or seconds from 0.1 to 86400") }
            spriteInterval = .every(seconds)
        case .nodeID:
            guard !value.isEmpty, value.utf8.count <= 64,
                value.unicodeScalars.allSatisfy({
                    ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0)
                        || $0 == "-" || $0 == "_" || $0 == "."
                })
            else { throw fail("expected 1 to 64 characters from A-Z a-z 0-9 . _ -") }
            nodeID = value
        }
    }

    /// The host name (`gethostname`), or `localhost` when it cannot be read.
    public static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return name.isEmpty ? "localhost" : name
    }

    /// Resolves the configuration: defaults < file < environment < flags.
    ///
    /// - Parameters:
    ///   - fileText: contents of the `--config` file, if any.
    ///   - fileOrigin: its path, used in messages.
    ///   - environment: the process environment; only the SPEC's keys (and `RUNTIME_DIRECTORY`) are read.
    ///   - flags: values given on the command line, keyed by the key they set.
    public static func resolve(
        fileText: String?,
        fileOrigin: String = "config file",
        environment: [String: String],
        flags: [ConfigKey: String] = [:]
    ) throws(ConfigurationError) -> IngestConfiguration {
        var config = IngestConfiguration()
        if let fileText {
            for entry in try EnvironmentFile.parse(fileText, origin: fileOrigin) {
                guard let key = ConfigKey(rawValue: entry.key) else {
                    throw ConfigurationError(
                        key: entry.key,
                        value: entry.value,
                        allowed: "unknown key; known keys: "
                            + ConfigKey.allCases.map(\.rawValue).joined(separator: ", "),
                        origin: "\(fileOrigin):\(entry.line)"
                    )
                }
                try config.set(key, entry.value, origin: "\(fileOrigin):\(entry.line)")
            }
        }
        for key in ConfigKey.allCases {
            if let value = environment[key.rawValue] { try config.set(key, value, origin: "environment") }
        }
        for key in ConfigKey.allCases {
            if let value = flags[key] { try config.set(key, value, origin: "command line") }
        }
        config.runtimeDirectory = environment["RUNTIME_DIRECTORY"]
        return config
    }

    /// Reads `path` and resolves as ``resolve(fileText:fileOrigin:environment:flags:)`` does.
    public static func load(
        configFile path: String?,
        environment: [String: String],
        flags: [ConfigKey: String] = [:]
    ) throws(ConfigurationError) -> IngestConfiguration {
        var text: String? = nil
        if let path {
            guard let contents = readTextFile(path) else {
                throw ConfigurationError(
                    key: nil,
                    value: path,
                    allowed: "cannot read configuration file",
                    origin: "--config"
                )
            }
            text = contents
        }
        return try resolve(fileText: text, fileOrigin: path ?? "config file", environment: environment, flags: flags)
    }

    /// Plain bytes, or a number with a binary suffix: `K`, `M`, `G`, `T` (optionally followed by `B` or `iB`).
    public static func parseSize(_ text: String) -> Int64? {
        var s = text.trimmingCharacters(inSet: " \t").uppercased()
        if s.hasSuffix("IB") { s.removeLast(2) } else if s.hasSuffix("B") { s.removeLast() }
        var multiplier: Int64 = 1
        switch s.last {
        case "K": multiplier = 1 << 10
        case "M": multiplier = 1 << 20
        case "G": multiplier = 1 << 30
        case "T": multiplier = 1 << 40
        default: break
        }
        if multiplier != 1 { s.removeLast() }
        guard !s.isEmpty, s.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let n = Int64(s) else { return nil }
        let (product, overflow) = n.multipliedReportingOverflow(by: multiplier)
        return overflow ? nil : product
    }

    private static func readTextFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16384)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                return nil
            }
            if n == 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
            if bytes.count > 1 << 20 { return nil }  // a configuration file is small
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

extension StringProtocol {
    fileprivate func trimmingCharacters(inSet set: String) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s = s.dropFirst() }
        while let l = s.last, set.contains(l) { s = s.dropLast() }
        return String(s)
    }
}
