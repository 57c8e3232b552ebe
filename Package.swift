// swift-tools-version:6.1
import PackageDescription

let strictness: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny")
]

let package = Package(
    name: "ingestd",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "StorageKit", targets: ["StorageKit"]),
        .executable(name: "ingestd", targets: ["IngestDaemon"]),
        .executable(name: "ingestctl", targets: ["ingestctl"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        // FFmpeg 5.1 (libavformat 59 …) through pkg-config; shim.h re-exports the macros Swift cannot import.
        .systemLibrary(
            name: "CFFmpeg",
            pkgConfig: "libavformat libavcodec libavfilter libswscale libswresample libavutil",
            providers: [
                .apt([
                    "libavformat-dev", "libavcodec-dev", "libavfilter-dev", "libswscale-dev", "libswresample-dev",
                    "libavutil-dev",
                ])
            ]
        ),
        // libsystemd: sd_notify, sd_listen_fds, sd_journal_sendv.
        .systemLibrary(
            name: "CSystemd",
            pkgConfig: "libsystemd",
            providers: [.apt(["libsystemd-dev"])]
        ),
        // Linux syscalls and structs glibc hides without _GNU_SOURCE (renameat2, struct ucred, leases).
        .target(
            name: "CIngestLinux",
            cSettings: [.define("_GNU_SOURCE")]
        ),
        // Configuration keys and the KEY=VALUE parser: shared by the daemon and ingestctl (which stays free of FFmpeg).
        .target(
            name: "IngestConfig",
            swiftSettings: strictness
        ),
        .target(
            name: "StorageKit",
            dependencies: [
                "IngestConfig",
                "CFFmpeg",
                "CIngestLinux",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: strictness
        ),
        .executableTarget(
            name: "IngestDaemon",
            dependencies: [
                "StorageKit",
                "IngestConfig",
                "CSystemd",
                "CIngestLinux",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strictness
        ),
        .executableTarget(
            name: "ingestctl",
            dependencies: [
                "IngestConfig",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictness
        ),
        // Hand-run benchmark of in-process probe/thumbnail against the FFmpeg CLIs (bench/thumbnail-bench.sh).
        .executableTarget(
            name: "bench-media",
            dependencies: ["StorageKit"],
            swiftSettings: strictness
        ),
        // Hand-run benchmark of renditions and sprite sheets against the ffmpeg CLI (bench/rendition-bench.sh).
        .executableTarget(
            name: "bench-renditions",
            dependencies: ["StorageKit", "IngestConfig"],
            swiftSettings: strictness
        ),
        // Hand-run benchmarks of the catalog and the statistics walk (bench/catalog-bench.sh, bench/stats-bench.sh).
        .executableTarget(
            name: "bench-storage",
            dependencies: ["StorageKit"],
            swiftSettings: strictness
        ),
        // Running programs from tests without Foundation.Process (see ChildProcess); shared by both test targets.
        .target(name: "TestSupport", path: "Tests/TestSupport", swiftSettings: strictness),
        .testTarget(
            name: "StorageKitTests",
            dependencies: [
                "StorageKit", "IngestConfig", "TestSupport", .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictness
        ),
        .testTarget(
            name: "ingestctlTests",
            dependencies: [
                "ingestctl",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictness
        ),
        .testTarget(
            name: "IngestDaemonTests",
            dependencies: [
                "IngestDaemon", "StorageKit", "IngestConfig", "TestSupport",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictness
        ),
    ]
)
