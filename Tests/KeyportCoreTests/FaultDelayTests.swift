@testable import KeyportCore
import Testing

/// `POST /debug/fault {"delay_ms": n}`: accepted in range, applied to /key and /ports (errors too),
/// refused out of range or of the wrong type. Timing is asserted as a lower bound only.
@Suite struct FaultDelayTests {
    static let delay = Duration.milliseconds(300)

    @Test func delayIsAcceptedAndAppliedToKeysAndPorts() async throws {
        try await TestServer.with({ $0.faultInjectionEnabled = true }) { server in
            #expect(try server.adminSend("POST", "/debug/fault", body: #"{"delay_ms": 300}"#).status == 204)
            #expect(server.application.faults.responseDelay == .milliseconds(300))
            #expect(server.application.faults.errorRate == 0)
            let clock = ContinuousClock()
            for path in ["/key/8", "/key/8?encoding=hex", "/ports?limit=1", "/ports/CLVAP", "/ports/ZZZZZ", "/key/0"] {
                let start = clock.now
                let response = try server.get(path)
                #expect(clock.now - start >= Self.delay, "\(path) answered before the delay")
                #expect(response.status == (path.hasSuffix("ZZZZZ") ? 404 : path.hasSuffix("/0") ? 400 : 200), "\(path)")
            }
            // The histogram the latency SLO reads sees the delay: three /key requests, each at least 300 ms.
            let metrics = try server.metrics()
            let keySeconds = try #require(metrics.value("http_request_duration_seconds_sum", ["route": "/key/{length}"]))
            #expect(keySeconds >= 0.9)
            #expect(try server.adminSend("POST", "/debug/fault", body: #"{"delay_ms": 0}"#).status == 204)
            #expect(server.application.faults.responseDelay == .zero)
            #expect(try server.get("/key/8").status == 200)
        }
    }

    @Test func largeKeysMadeOffTheEventLoopAreDelayedToo() async throws {
        try await TestServer.with({ $0.faultInjectionEnabled = true; $0.maxKeySize = 100_000 }) { server in
            #expect(try server.adminSend("POST", "/debug/fault", body: #"{"delay_ms": 300}"#).status == 204)
            let clock = ContinuousClock()
            let start = clock.now
            let key = try server.get("/key/\(KeyEndpoint.offloadThreshold + 1)")
            #expect(clock.now - start >= Self.delay)
            #expect(key.status == 200)
            #expect(key.body.count == KeyEndpoint.offloadThreshold + 1)
        }
    }

    @Test func injectedErrorsAreDelayedToo() async throws {
        try await TestServer.with({ $0.faultInjectionEnabled = true }) { server in
            #expect(try server.adminSend("POST", "/debug/fault", body: #"{"error_rate": 1, "delay_ms": 300}"#).status == 204)
            let clock = ContinuousClock()
            let start = clock.now
            let failed = try server.get("/key/8")
            #expect(clock.now - start >= Self.delay)
            #expect(failed.status == 500)
            // A body without delay_ms states the whole fault: the delay goes back to 0.
            #expect(try server.adminSend("POST", "/debug/fault", body: #"{"error_rate": 0}"#).status == 204)
            #expect(server.application.faults.responseDelay == .zero)
            #expect(try server.get("/key/8").status == 200)
        }
    }

    @Test(arguments: [
        #"{"delay_ms": -1}"#, #"{"delay_ms": 10001}"#, #"{"delay_ms": 1.5}"#, #"{"delay_ms": "300"}"#,
        #"{"delay_ms": true}"#, #"{"delay_ms": null}"#, #"{"delay_ms": null, "error_rate": 0}"#,
        #"{"error_rate": null, "delay_ms": 5}"#, #"{"delay_ms": 300, "error_rate": 2}"#, "{}",
    ])
    func badDelaysAreRefusedAndChangeNothing(body: String) async throws {
        try await TestServer.with({ $0.faultInjectionEnabled = true }) { server in
            #expect(try server.adminSend("POST", "/debug/fault", body: #"{"delay_ms": 10000}"#).status == 204)
            let response = try server.adminSend("POST", "/debug/fault", body: body)
            #expect(response.status == 400)
            #expect(try response.json()["error"] is String)
            #expect(server.application.faults.responseDelay == .milliseconds(10000))
            #expect(try server.adminSend("POST", "/debug/fault", body: #"{"delay_ms": 0}"#).status == 204)
        }
    }

    @Test func delayIs404WhenFaultInjectionIsOff() async throws {
        try await TestServer.with { server in
            let response = try server.adminSend("POST", "/debug/fault", body: #"{"delay_ms": 300}"#)
            #expect(response.status == 404)
            #expect(server.application.faults.responseDelay == .zero)
        }
    }
}
