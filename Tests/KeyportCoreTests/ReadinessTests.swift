import Dispatch
@testable import KeyportCore
import Testing

@Suite struct ReadinessTests {
    /// `keyport_ready` as the registry would export it now.
    static func exportedGauge(_ metrics: KeyportMetrics) throws -> Double? {
        var buffer: [UInt8] = []
        metrics.registry.emit(into: &buffer)
        return try MetricsText(String(decoding: buffer, as: UTF8.self)).value("keyport_ready")
    }

    @Test func theGaugeFollowsEachChange() throws {
        let metrics = KeyportMetrics(maxKeySize: 1024, buildInfo: .current)
        let readiness = Readiness(metrics: metrics)
        readiness.update { $0.portsLoaded = true; $0.portsProblem = nil }
        #expect(try Self.exportedGauge(metrics) == 1)
        readiness.update { $0.draining = true }
        #expect(try Self.exportedGauge(metrics) == 0)
    }

    /// Updates racing each other must leave the gauge saying what `/ready` says (a gauge set after the
    /// lock is released can be overtaken by the other update). The race is narrow: this catches it only
    /// now and then, never falsely.
    @Test func racingUpdatesLeaveTheGaugeAndTheStateAgreeing() throws {
        let metrics = KeyportMetrics(maxKeySize: 1024, buildInfo: .current)
        let readiness = Readiness(metrics: metrics)
        readiness.update { $0.portsLoaded = true; $0.portsProblem = nil }
        var disagreements = 0
        for _ in 0..<2_000 {
            DispatchQueue.concurrentPerform(iterations: 2) { worker in
                readiness.update { $0.forcedNotReady = worker == 0 }
            }
            let ready: Double = readiness.current.notReadyReason == nil ? 1 : 0
            if try Self.exportedGauge(metrics) != ready { disagreements += 1 }
        }
        #expect(disagreements == 0)
    }
}
