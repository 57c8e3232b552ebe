import Foundation
import Testing

@testable import IngestConfig

struct IngestConfigurationTests {
    static func resolve(
        file: String? = nil,
        environment: [String: String] = [:],
        flags: [ConfigKey: String] = [:]
    ) throws(ConfigurationError) -> IngestConfiguration {
        try IngestConfiguration.resolve(
            fileText: file,
            fileOrigin: "ingestd.env",
            environment: environment,
            flags: flags
        )
    }

    static func failure(
        file: String? = nil,
        environment: [String: String] = [:],
        flags: [ConfigKey: String] = [:]
    ) -> ConfigurationError? {
        do {
            _ = try resolve(file: file, environment: environment, flags: flags)
            return nil
        } catch {
            return error
        }
    }

    /// `config/ingestd.env` of this repository.
    static let exampleFile: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.appendingPathComponent("config/ingestd.env").path
    }()

    // MARK: Defaults

    @Test func defaultsAreTheSpecTable() throws {
        let c = try Self.resolve()
        #expect(c == IngestConfiguration())
        #expect(c.storagePath == "./storage")
        #expect(c.dropPath == "./drop")
        #expect(c.controlSocket == nil)
        #expect(c.controlSocketPath == "./storage/ingestd.sock")
        #expect(c.uploadMaxSize == 104_857_600)
        #expect(c.allowedExtensions == ["mp4", "mov", "avi"])
        #expect(c.ffmpegThreads == 2)
        #expect(c.videoOutputFormat == "mp4")
        #expect(c.thumbnailWidth == 320)
        #expect(c.settleMS == 1000)
        #expect(c.defaultProject == "default")
        #expect(c.duplicates == .reject)
        #expect(c.controlSocketMode == 0o660)
        #expect(c.controlSocketGroup == nil)
        #expect(c.logLevel == .info)
        #expect(c.minFreeBytes == 268_435_456)
        #expect(c.catalogURL == "sqlite:")
        #expect(c.projectQuotaBytes == 0)
    }

    // MARK: Layering

    /// Each layer, when present, overrides every earlier one.
    @Test(arguments: [
        (false, false, false, "1000"),
        (true, false, false, "100"),
        (false, true, false, "200"),
        (false, false, true, "300"),
        (true, true, false, "200"),
        (true, false, true, "300"),
        (false, true, true, "300"),
        (true, true, true, "300"),
    ])
    func laterLayersWin(inFile: Bool, inEnvironment: Bool, inFlags: Bool, expected: String) throws {
        let c = try Self.resolve(
            file: inFile ? "SETTLE_MS=100\nSTORAGE_PATH=/file/storage\n" : nil,
            environment: inEnvironment ? ["SETTLE_MS": "200", "STORAGE_PATH": "/env/storage"] : [:],
            flags: inFlags ? [.settleMS: "300", .storagePath: "/flag/storage"] : [:]
        )
        #expect(c.settleMS == Int(expected))
        let storage = ["1000": "./storage", "100": "/file/storage", "200": "/env/storage", "300": "/flag/storage"]
        #expect(c.storagePath == storage[expected])
    }

    @Test func layersMergeKeyByKey() throws {
        let c = try Self.resolve(
            file: "DUPLICATES=keep\nLOG_LEVEL=debug\nTHUMBNAIL_WIDTH=640\n",
            environment: ["LOG_LEVEL": "warning", "DROP_PATH": "/srv/drop"],
            flags: [.dropPath: "/flag/drop"]
        )
        #expect(c.duplicates == .keep)  // file only
        #expect(c.thumbnailWidth == 640)  // file only
        #expect(c.logLevel == .warning)  // environment over file
        #expect(c.dropPath == "/flag/drop")  // flag over environment
        #expect(c.settleMS == 1000)  // default
    }

    @Test func theLastAssignmentInTheFileWins() throws {
        #expect(try Self.resolve(file: "SETTLE_MS=5\nSETTLE_MS=7\n").settleMS == 7)
    }

    @Test func loadReadsTheFileFromDisk() throws {
        let dir = try TempDir("config")
        defer { dir.remove() }
        let path = dir.path + "/ingestd.env"
        try Data("export STORAGE_PATH='/srv/st'\r\nUPLOAD_MAX_SIZE=2G\n".utf8).write(to: URL(fileURLWithPath: path))
        let c = try IngestConfiguration.load(configFile: path, environment: ["HOME": "/root"])
        #expect(c.storagePath == "/srv/st")
        #expect(c.uploadMaxSize == 2 << 30)

        try Data("A=1\nBOGUS\n".utf8).write(to: URL(fileURLWithPath: path))
        let error = #expect(throws: ConfigurationError.self) {
            _ = try IngestConfiguration.load(configFile: path, environment: [:])
        }
        #expect(error?.origin == path + ":2")
    }

    @Test func aMissingConfigFileIsNamed() throws {
        let error = #expect(throws: ConfigurationError.self) {
            _ = try IngestConfiguration.load(configFile: "/nonexistent/ingestd.env", environment: [:])
        }
        #expect(error?.value == "/nonexistent/ingestd.env")
        #expect(error?.description.contains("/nonexistent/ingestd.env") == true)
    }

    // MARK: Keys

    @Test func anUnknownKeyInTheFileIsNamed() throws {
        let error = try #require(Self.failure(file: "SETTLE_MS=5\nSTORAGE_PTH=/x\n"))
        #expect(error.key == "STORAGE_PTH")
        #expect(error.value == "/x")
        #expect(error.origin == "ingestd.env:2")
        #expect(error.description.hasPrefix("STORAGE_PTH=/x: unknown key"))
        #expect(error.allowed.contains("STORAGE_PATH"))
    }

    @Test func runtimeDirectoryIsNotAKeyOfTheFile() throws {
        let error = try #require(Self.failure(file: "RUNTIME_DIRECTORY=/run/x\n"))
        #expect(error.key == "RUNTIME_DIRECTORY")
        #expect(error.allowed.hasPrefix("unknown key"))
    }

    @Test func unrelatedEnvironmentVariablesAreIgnored() throws {
        let environment = [
            "PATH": "/usr/bin", "HOME": "/root", "LANG": "C.UTF-8", "STORAGE_PATHS": "/x", "storage_path": "/y",
            "INGESTD_STORAGE_PATH": "/z", "DUPLICATE": "maybe", "SETTLE": "-1",
        ]
        #expect(try Self.resolve(environment: environment) == IngestConfiguration())
    }

    @Test func everyKeyIsReadFromTheEnvironment() throws {
        let environment: [String: String] = [
            "STORAGE_PATH": "/s", "DROP_PATH": "/d", "CONTROL_SOCKET": "/run/c.sock", "UPLOAD_MAX_SIZE": "5M",
            "ALLOWED_EXTENSIONS": "MP4, .mkv ,mp4", "FFMPEG_THREADS": "8", "VIDEO_OUTPUT_FORMAT": "WebM",
            "THUMBNAIL_WIDTH": "640", "SETTLE_MS": "0", "DEFAULT_PROJECT": "in_box-2", "DUPLICATES": "KEEP",
            "CONTROL_SOCKET_MODE": "0600", "CONTROL_SOCKET_GROUP": "video", "LOG_LEVEL": "Trace",
            "MIN_FREE_BYTES": "0", "CATALOG_URL": "postgres://u:p@db:5432/ingest", "PROJECT_QUOTA_BYTES": "1G",
            "RENDITIONS": "1080P, 360p,1080p", "SPRITE_INTERVAL": "2.5", "NODE_ID": "node-a.example",
        ]
        #expect(Set(environment.keys) == Set(ConfigKey.allCases.map(\.rawValue)))
        let c = try Self.resolve(environment: environment)
        #expect(c.storagePath == "/s")
        #expect(c.dropPath == "/d")
        #expect(c.controlSocketPath == "/run/c.sock")
        #expect(c.uploadMaxSize == 5 << 20)
        #expect(c.allowedExtensions == ["mp4", "mkv"])
        #expect(c.ffmpegThreads == 8)
        #expect(c.videoOutputFormat == "webm")
        #expect(c.renditions == [.p1080, .p360])
        #expect(c.spriteInterval == .every(2.5))
        #expect(c.nodeID == "node-a.example")
        #expect(c.thumbnailWidth == 640)
        #expect(c.settleMS == 0)
        #expect(c.defaultProject == "in_box-2")
        #expect(c.duplicates == .keep)
        #expect(c.controlSocketMode == 0o600)
        #expect(c.controlSocketGroup == "video")
        #expect(c.logLevel == .trace)
        #expect(c.minFreeBytes == 0)
        #expect(c.catalogURL == "postgres://u:p@db:5432/ingest")
        #expect(c.projectQuotaBytes == 1 << 30)
    }

    @Test func anEmptySocketGroupMeansUnset() throws {
        #expect(
            try Self.resolve(file: "CONTROL_SOCKET_GROUP=wheel", environment: ["CONTROL_SOCKET_GROUP": ""])
                .controlSocketGroup == nil
        )
    }

    @Test(arguments: [
        ("mp4", true), ("MP4", true), (".Mov", true), ("avi", true), ("mkv", false), ("", false), (".", false),
        ("mp4.part", false),
    ])
    func allowedExtensionsAreCaseInsensitive(ext: String, allowed: Bool) throws {
        #expect(IngestConfiguration().allows(extension: ext) == allowed)
    }

    // MARK: Bad values

    /// `(key, bad value, part of what is allowed)`: every key has values it refuses.
    static let badValues: [(String, String, String)] = [
        ("STORAGE_PATH", "", "expected a directory path"),
        ("DROP_PATH", "", "expected a directory path"),
        ("CONTROL_SOCKET", "", "expected a socket path"),
        ("CONTROL_SOCKET", "/run/" + String(repeating: "s", count: 120), "at most 107 bytes"),
        ("UPLOAD_MAX_SIZE", "lots", "expected a size in bytes ≥ 1"),
        ("UPLOAD_MAX_SIZE", "0", "expected a size in bytes ≥ 1"),
        ("UPLOAD_MAX_SIZE", "-1", "expected a size in bytes ≥ 1"),
        ("UPLOAD_MAX_SIZE", "1.5G", "expected a size in bytes ≥ 1"),
        ("ALLOWED_EXTENSIONS", "", "comma-separated list of extensions"),
        ("ALLOWED_EXTENSIONS", "mp4,m p4", "comma-separated list of extensions"),
        ("ALLOWED_EXTENSIONS", "mp4,*", "comma-separated list of extensions"),
        ("FFMPEG_THREADS", "0", "expected an integer from 1 to 64"),
        ("FFMPEG_THREADS", "two", "expected an integer from 1 to 64"),
        ("FFMPEG_THREADS", "65", "expected an integer from 1 to 64"),
        ("VIDEO_OUTPUT_FORMAT", "gif", "expected mp4 (H.264 + AAC) or webm (VP9 + Opus)"),
        ("VIDEO_OUTPUT_FORMAT", "mkv", "expected mp4 (H.264 + AAC) or webm (VP9 + Opus)"),
        ("RENDITIONS", "720", "expected a comma-separated list from 2160p,1440p,1080p,720p,480p,360p,240p"),
        ("RENDITIONS", "720p,,480p", "expected a comma-separated list from"),
        ("RENDITIONS", "4320p", "expected a comma-separated list from"),
        ("SPRITE_INTERVAL", "often", "expected auto, 0 for none, or seconds from 0.1 to 86400"),
        ("SPRITE_INTERVAL", "-1", "expected auto, 0 for none, or seconds"),
        ("SPRITE_INTERVAL", "0.01", "expected auto, 0 for none, or seconds"),
        ("SPRITE_INTERVAL", "nan", "expected auto, 0 for none, or seconds"),
        ("NODE_ID", "", "expected 1 to 64 characters from A-Z a-z 0-9 . _ -"),
        ("NODE_ID", "node a", "expected 1 to 64 characters from A-Z a-z 0-9 . _ -"),
        ("THUMBNAIL_WIDTH", "15", "expected an integer from 16 to 3840"),
        ("THUMBNAIL_WIDTH", "320px", "expected an integer from 16 to 3840"),
        ("SETTLE_MS", "-1", "expected milliseconds from 0 to 3600000"),
        ("SETTLE_MS", "1s", "expected milliseconds from 0 to 3600000"),
        ("DEFAULT_PROJECT", "", "expected 1 to 64 characters from A-Z a-z 0-9 _ -"),
        ("DEFAULT_PROJECT", "../etc", "expected 1 to 64 characters from A-Z a-z 0-9 _ -"),
        ("DEFAULT_PROJECT", String(repeating: "p", count: 65), "expected 1 to 64 characters"),
        ("DUPLICATES", "maybe", "expected reject or keep"),
        ("CONTROL_SOCKET_MODE", "0999", "expected octal permission bits"),
        ("CONTROL_SOCKET_MODE", "rw-rw----", "expected octal permission bits"),
        ("CONTROL_SOCKET_MODE", "1777", "expected octal permission bits"),
        ("CONTROL_SOCKET_GROUP", "a b", "expected a group name or numeric gid"),
        ("CONTROL_SOCKET_GROUP", "a:b", "expected a group name or numeric gid"),
        ("LOG_LEVEL", "verbose", "expected one of trace, debug, info, notice, warning, error, critical"),
        ("MIN_FREE_BYTES", "-5", "expected a size in bytes ≥ 0"),
        ("MIN_FREE_BYTES", "lots", "expected a size in bytes ≥ 0"),
        ("CATALOG_URL", "mysql://db/x", "expected sqlite: or postgres://"),
        ("CATALOG_URL", "sqlite:/tmp/x", "expected sqlite: or postgres://"),
        ("PROJECT_QUOTA_BYTES", "unlimited", "expected a size in bytes ≥ 0"),
    ]

    @Test(arguments: badValues)
    func aBadValueFromTheFileNamesKeyValueAndWhatIsAllowed(key: String, value: String, allowed: String) throws {
        let quoted = "'" + value + "'"
        let error = try #require(Self.failure(file: "# settings\n\(key)=\(quoted)\n"))
        #expect(error.key == key)
        #expect(error.value == value)
        #expect(error.allowed.contains(allowed))
        #expect(error.origin == "ingestd.env:2")
        #expect(error.description == "\(key)=\(value): \(error.allowed) (from ingestd.env:2)")
    }

    @Test(arguments: badValues)
    func aBadValueFromTheEnvironmentNamesKeyValueAndWhatIsAllowed(key: String, value: String, allowed: String) throws {
        let error = try #require(Self.failure(environment: [key: value]))
        #expect(error.key == key)
        #expect(error.value == value)
        #expect(error.allowed.contains(allowed))
        #expect(error.origin == "environment")
    }

    @Test func aBadFlagNamesItsKey() throws {
        let error = try #require(Self.failure(flags: [.storagePath: ""]))
        #expect(error.key == "STORAGE_PATH")
        #expect(error.origin == "command line")
    }

    @Test func theSpecExampleMessage() throws {
        let error = try #require(Self.failure(environment: ["DUPLICATES": "maybe"]))
        #expect(error.description == "DUPLICATES=maybe: expected reject or keep (from environment)")
    }

    @Test func aGoodFlagRepairsNothingWhenTheEnvironmentIsBad() throws {
        // A bad value stops the start even if a later layer would have replaced it.
        #expect(Self.failure(environment: ["SETTLE_MS": "soon"], flags: [.settleMS: "10"])?.key == "SETTLE_MS")
    }

    // MARK: Sizes

    @Test(arguments: [
        ("0", 0 as Int64?), ("1", 1), ("104857600", 104_857_600), ("10K", 10_240), ("10k", 10_240),
        ("5M", 5_242_880), ("2G", 2_147_483_648), ("1T", 1_099_511_627_776), ("100MB", 104_857_600),
        ("100MiB", 104_857_600), ("64KiB", 65_536), (" 7M ", 7_340_032),
        ("", nil), ("K", nil), ("M", nil), ("1.5M", nil), ("-1", nil), ("+1", nil), ("1X", nil), ("1 M", nil),
        ("0x10", nil), ("9223372036854775807", Int64.max), ("9223372036854775807K", nil),
        ("99999999999999999999", nil),
    ])
    func sizes(text: String, bytes: Int64?) throws {
        #expect(IngestConfiguration.parseSize(text) == bytes)
    }

    @Test func sizeKeysAcceptSuffixes() throws {
        let c = try Self.resolve(file: "UPLOAD_MAX_SIZE=100M\nMIN_FREE_BYTES=256M\nPROJECT_QUOTA_BYTES=3G\n")
        #expect(c.uploadMaxSize == 104_857_600)
        #expect(c.minFreeBytes == 268_435_456)
        #expect(c.projectQuotaBytes == 3 << 30)
        #expect(try Self.resolve(environment: ["UPLOAD_MAX_SIZE": "1"]).uploadMaxSize == 1)
    }

    // MARK: Control socket default

    @Test(arguments: [
        // (STORAGE_PATH, RUNTIME_DIRECTORY, CONTROL_SOCKET, expected)
        ("/srv/storage", nil as String?, nil as String?, "/srv/storage/ingestd.sock"),
        ("/srv/storage/", nil, nil, "/srv/storage/ingestd.sock"),
        ("/srv/storage", "/run/ingestd", nil, "/run/ingestd/control.sock"),
        ("/srv/storage", "/run/ingestd:/run/other", nil, "/run/ingestd/control.sock"),
        ("/srv/storage", "", nil, "/srv/storage/ingestd.sock"),
        ("/srv/storage", "/run/ingestd", "/tmp/explicit.sock", "/tmp/explicit.sock"),
        ("/srv/storage", nil, "/tmp/explicit.sock", "/tmp/explicit.sock"),
    ])
    func controlSocketDefault(storage: String, runtime: String?, socket: String?, expected: String) throws {
        var environment = ["STORAGE_PATH": storage]
        if let runtime { environment["RUNTIME_DIRECTORY"] = runtime }
        if let socket { environment["CONTROL_SOCKET"] = socket }
        let c = try Self.resolve(environment: environment)
        #expect(c.controlSocketPath == expected)
    }

    @Test func theSocketDefaultFollowsTheStoragePathFlag() throws {
        let c = try Self.resolve(file: "STORAGE_PATH=/file", flags: [.storagePath: "/flag"])
        #expect(c.controlSocketPath == "/flag/ingestd.sock")
    }

    // MARK: The documented example

    @Test(.enabled(if: FileManager.default.fileExists(atPath: IngestConfigurationTests.exampleFile)))
    func theRepositoryExampleParsesAndResolvesToTheDefaults() throws {
        let text = try String(contentsOfFile: Self.exampleFile, encoding: .utf8)
        let entries = try EnvironmentFile.parse(text, origin: Self.exampleFile)
        // It documents every key: as an assignment, or as a commented one (`# KEY=default`) where a value in
        // the file would override what the systemd unit sets.
        var keys = Set(entries.map(\.key))
        for line in text.split(separator: "\n") where line.hasPrefix("# ") {
            if let eq = line.firstIndex(of: "="), ConfigKey(rawValue: String(line.dropFirst(2)[..<eq])) != nil {
                keys.insert(String(line.dropFirst(2)[..<eq]))
            }
        }
        for key in ConfigKey.allCases {
            #expect(keys.contains(key.rawValue), "config/ingestd.env lacks \(key.rawValue)")
        }
        let c = try IngestConfiguration.load(configFile: Self.exampleFile, environment: [:])
        var expected = IngestConfiguration()
        expected.controlSocket = c.controlSocket == expected.controlSocketPath ? c.controlSocket : nil
        #expect(c == expected)
        #expect(c.controlSocketPath == IngestConfiguration().controlSocketPath)
    }

    /// A reload applies the keys that apply live and keeps the others, naming them.
    @Test func aReloadKeepsRestartOnlyKeysAndNamesThem() {
        var running = IngestConfiguration()
        running.storagePath = "/srv/storage"
        running.nodeID = "a"
        var new = running
        new.storagePath = "/elsewhere"
        new.nodeID = "b"
        new.settleMS = 5000
        new.thumbnailWidth = 640
        let (applied, needRestart) = new.applyingLive(over: running)
        #expect(needRestart == [.storagePath, .nodeID])
        #expect(applied.storagePath == "/srv/storage" && applied.nodeID == "a")
        #expect(applied.settleMS == 5000 && applied.thumbnailWidth == 640)
        #expect(ConfigKey.allCases.filter { !$0.appliesLive }.count == 7)
        #expect(running.applyingLive(over: running).needRestart.isEmpty)
    }
}
