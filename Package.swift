// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "keyport",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "keyport", targets: ["keyport"]),
        .library(name: "KeyportCore", targets: ["KeyportCore"]),
        .library(name: "KeyportPorts", targets: ["KeyportPorts"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.7.3"),
        // Only the OTLP/HTTP exporter: the gRPC stack stays out of the build.
        .package(url: "https://github.com/swift-otel/swift-otel.git", from: "1.6.0", traits: ["OTLPHTTP"]),
        // `keyport ports fetch`: AsyncHTTPClient (already built in through swift-otel's OTLP/HTTP exporter) for
        // redirects, timeouts and TLS; swift-crypto for SHA-256 (up to 4.x, which swift-certificates also takes).
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
    ],
    targets: [
        .executableTarget(
            name: "keyport",
            dependencies: [
                "KeyportCore",
                "SystemLibC",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .target(
            name: "KeyportCore",
            dependencies: [
                "KeyportPorts",
                "CKeyportShims",
                "SystemLibC",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Instrumentation", package: "swift-distributed-tracing"),
                .product(name: "OTel", package: "swift-otel"),
            ],
            // Not `resources:`: SwiftPM's generated Bundle accessor would link Foundation (BundledFiles).
            exclude: ["Resources"]
        ),
        // getrandom(2) and malloc_trim(3), which Glibc's Swift module does not export.
        .target(name: "CKeyportShims"),
        // The ports parser and store depend on nothing but zlib and the C library, so they can be fuzzed and
        // benchmarked alone.
        .target(name: "KeyportPorts", dependencies: ["CZlib", "SystemLibC"]),
        // The platform's C library (Glibc, Musl or Darwin), imported in this one place and re-exported.
        .target(name: "SystemLibC"),
        // zlib's inflate for gzip ports files (Sources/CZlib/shim.h says why the C library itself).
        .systemLibrary(name: "CZlib", providers: [.apt(["zlib1g-dev"])]),
        .testTarget(
            name: "KeyportCoreTests",
            dependencies: [
                "KeyportCore",
                "SystemLibC",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "InMemoryTracing", package: "swift-distributed-tracing"),
            ]
        ),
        .testTarget(name: "KeyportPortsTests", dependencies: ["KeyportPorts"]),
    ]
)
