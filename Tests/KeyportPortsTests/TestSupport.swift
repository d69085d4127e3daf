import Foundation
import Testing

@testable import KeyportPorts

/// The real ports file beside the repository (../shared/data/ports.json), or KEYPORT_PORTS_JSON.
enum RealPortsFile {
    static let path: String = {
        if let override = ProcessInfo.processInfo.environment["KEYPORT_PORTS_JSON"] { return override }
        // Resolve symlinks so a package that links these sources in still finds the repository.
        let here = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
        let repository = here.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return repository.deletingLastPathComponent().appendingPathComponent("shared/data/ports.json").path
    }()

    static var exists: Bool { FileManager.default.fileExists(atPath: path) }

    /// Run when the file is there, and always on CI (where its absence must fail, not skip).
    static var shouldRun: Bool { exists || ProcessInfo.processInfo.environment["CI"] != nil }

    static let skipNote: Comment = "the real ports file is missing (expected at ../shared/data/ports.json or KEYPORT_PORTS_JSON); set CI to make this a failure"
}

func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

func parse(_ input: [UInt8], chunk: Int = 64 * 1024, maxRecordBytes: Int = 16 << 20) throws(PortsLoadError) -> PortsSnapshot {
    try PortsParser.parse(input, sourceName: "test.json", options: PortsParseOptions(chunkSize: chunk, maxRecordBytes: maxRecordBytes))
}

func parse(_ text: String, chunk: Int = 64 * 1024) throws(PortsLoadError) -> PortsSnapshot {
    try parse(bytes(text), chunk: chunk)
}

/// The error a parse gives, or nil when it succeeds.
func parseError(_ input: [UInt8], chunk: Int = 64 * 1024, maxRecordBytes: Int = 16 << 20) -> PortsLoadError? {
    do throws(PortsLoadError) {
        _ = try parse(input, chunk: chunk, maxRecordBytes: maxRecordBytes)
        return nil
    } catch {
        return error
    }
}

/// All records of a snapshot in id order.
func allRecords(_ snapshot: PortsSnapshot) -> [PortRecord] {
    (0..<snapshot.count).map { snapshot.record(at: $0) }
}

/// A minimal valid record body.
func body(_ name: String = "N", city: String = "C", country: String = "X", extra: String = "") -> String {
    "{\"name\":\"\(name)\",\"city\":\"\(city)\",\"country\":\"\(country)\"\(extra.isEmpty ? "" : "," + extra)}"
}

/// Deterministic pseudo-random numbers (SplitMix64), so every property-test failure can be replayed.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
