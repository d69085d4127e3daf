import Foundation
@testable import KeyportCore
import KeyportPorts
import Logging
import NIOPosix
import Testing

/// The memory guard with an injected limit (no cgroup needed): a load that would pass the limit is
/// stopped, counted and explained, and never replaces data that is serving.
@Suite struct PortsReloaderTests {
    struct Fixture {
        let served: ServedSnapshot
        let readiness: Readiness
        let metrics: KeyportMetrics
        let pool: NIOThreadPool
        let file: URL

        init() throws {
            metrics = KeyportMetrics(maxKeySize: 1024)
            served = ServedSnapshot(metrics: metrics)
            readiness = Readiness(metrics: metrics)
            pool = NIOThreadPool(numberOfThreads: 1)
            pool.start()
            file = try TestPaths.temporaryDirectory().appendingPathComponent("ports.json")
            try PortsServerTests.threePorts.write(to: file, atomically: true, encoding: .utf8)
        }

        func reloader(limit: @escaping @Sendable () -> Int?) -> PortsReloader {
            PortsReloader(
                path: file.path, served: served, readiness: readiness, metrics: metrics, pollInterval: .seconds(10),
                threadPool: pool, logger: Logger(label: "test"), memoryLimit: limit)
        }

        func failures() throws -> Double? {
            try MetricsText(String(decoding: metrics.exposition(), as: UTF8.self))
                .value("keyport_ports_loads_total", ["result": "failure"])
        }

        func close() async throws {
            try await pool.shutdownGracefully()
            try? FileManager.default.removeItem(at: file.deletingLastPathComponent())
        }
    }

    /// Resident memory now: a limit at it leaves no room for the guard's headroom.
    static func residentNow() -> Int { ProcessSample.read()!.residentBytes }

    @Test func aStartUpLoadThatCannotFitLeavesTheProcessNotReadyWithTheReason() async throws {
        let fixture = try Fixture()
        await fixture.reloader(limit: { Self.residentNow() }).load(reason: "start")
        #expect(fixture.served.snapshot.count == 0)
        let reason = try #require(fixture.readiness.current.notReadyReason)
        #expect(reason.contains("memory limit"))
        #expect(reason.contains("in use"))
        #expect(reason.contains("needed by this load so far"))
        #expect(try fixture.failures() == 1)
        try await fixture.close()
    }

    @Test func aReloadThatWouldPassTheLimitKeepsTheOldDataAndIsCounted() async throws {
        let fixture = try Fixture()
        await fixture.reloader(limit: { Self.residentNow() + (1 << 30) }).load(reason: "start")
        #expect(fixture.served.snapshot.count == 3)
        #expect(fixture.readiness.current.notReadyReason == nil)

        try PortsServerTests.twoPorts.write(to: fixture.file, atomically: true, encoding: .utf8)
        await fixture.reloader(limit: { Self.residentNow() }).load(reason: "SIGHUP")
        #expect(fixture.served.snapshot.count == 3)
        #expect(fixture.readiness.current.notReadyReason == nil)
        #expect(try fixture.failures() == 1)

        // Without a limit (no cgroup) nothing is guarded: the same file loads.
        await fixture.reloader(limit: { nil }).load(reason: "SIGHUP")
        #expect(fixture.served.snapshot.count == 2)
        try await fixture.close()
    }

    @Test func theGuardNamesLimitUseAndNeedAndLooksAheadAtTheTables() throws {
        let resident = 100 << 20
        let guarded = try #require(PortsMemoryGuard(limit: 200 << 20, resident: { resident }))
        let early = PortsLoadProgress(bytesParsed: 1 << 20, inputBytes: 1 << 20, recordsParsed: 1000, parsed: false)
        try guarded.check(early, source: "p.json")
        // 6M records need 96 MB (91.6 MiB) of tables: 100 + 91.6 + 20 (headroom) MiB passes 200 MiB.
        let done = PortsLoadProgress(bytesParsed: 1 << 30, inputBytes: 1 << 30, recordsParsed: 6_000_000, parsed: true)
        let error = try #require(throws: PortsLoadError.self) { try guarded.check(done, source: "p.json") }
        #expect(error.kind == .memory)
        #expect(error.offset == 1 << 30)
        #expect(error.description.contains("memory limit of 200.0 MiB"))
        #expect(error.description.contains("in use 100.0 MiB"))
        #expect(PortsMemoryGuard(limit: nil, resident: { resident }) == nil)
        #expect(PortsMemoryGuard.headroom(limit: 100 << 20) == 16 << 20)
        #expect(PortsMemoryGuard.headroom(limit: 1 << 30) == (1 << 30) / 10)
    }
}
