// swift-tools-version:6.1
// Allocation counts per request through keyport's connection pipeline (`make bench`). A package of its
// own: the interposer is a preloaded malloc replacement that the server, its tests and CI never need.
import PackageDescription

// KEYPORT_PACKAGE points at another checkout (e.g. an older commit) to count its allocations the same way.
let keyport = Context.environment["KEYPORT_PACKAGE"] ?? "../.."

let package = Package(
    name: "keyport-allocations",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "keyport", path: keyport),
        .package(url: "https://github.com/ordo-one/malloc-interposer.git", from: "1.6.1"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
    ],
    targets: [
        .executableTarget(
            name: "KeyportAllocations",
            dependencies: [
                .product(name: "KeyportCore", package: "keyport"),
                .product(name: "KeyportPorts", package: "keyport"),
                .product(name: "MallocInterposerSwift", package: "malloc-interposer"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        )
    ]
)
