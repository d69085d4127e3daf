import Foundation
@testable import KeyportCore
import Testing

/// Regressions for bad input found while hardening (docs/hardening.md): every one answers a clear 4xx.
/// The tests that talk HTTP run once per listener: the admin listener is hardened like the service one.
@Suite struct HardeningTests {
    private func configuration(_ arguments: [String], environment: [String: String] = [:]) throws -> Configuration {
        try Configuration(arguments: arguments, environment: environment)
    }

    @Test func timeoutsComeFromFlagsAndEnvironment() throws {
        let defaults = try configuration([])
        #expect(defaults.idleTimeout == .seconds(60))
        #expect(defaults.requestTimeout == .seconds(30))
        let flags = try configuration(["--idle-timeout", "2m", "--request-timeout", "500ms"])
        #expect(flags.idleTimeout == .seconds(120))
        #expect(flags.requestTimeout == .milliseconds(500))
        let environment = try configuration([], environment: ["KEYPORT_IDLE_TIMEOUT": "5s", "KEYPORT_REQUEST_TIMEOUT": "3s"])
        #expect(environment.idleTimeout == .seconds(5))
        #expect(environment.requestTimeout == .seconds(3))
    }

    @Test(arguments: [("--idle-timeout", "0s"), ("--idle-timeout", "2h"), ("--request-timeout", "10"), ("--request-timeout", "50ms")])
    func badTimeoutsNameTheFlagAndTheRange(flag: String, value: String) throws {
        let error = try #require(throws: ConfigurationError.self) { try configuration([flag + "=" + value]) }
        #expect(error.flag == flag)
        #expect(error.description.contains("100ms to 1h"))
    }

    /// Found by probing: a CONNECT request got a 404 head with no length and no body from NIO's encoder,
    /// and the connection stayed open, so the client waited for the idle timeout.
    @Test(arguments: [Listener.Role.service, .admin])
    func connectIsAnsweredAndTheConnectionClosed(listener: Listener.Role) async throws {
        try await TestServer.with { server in
            for target in ["example.com:443", "/health"] {
                let client = try TestHTTPClient(port: server.port(of: listener))
                defer { client.close() }
                client.send(Array("CONNECT \(target) HTTP/1.1\r\nHost: example.com:443\r\n\r\n".utf8))
                let started = ContinuousClock.now
                let response = try client.readResponse(headRequest: true)
                #expect(response.status == (target == "/health" ? 405 : 404))
                #expect(response.header("Connection") == "close")
                // The server closes at once: no waiting for the idle timeout.
                #expect(throws: TestHTTPClient.ClientError.self) { try client.readResponse() }
                #expect(started.duration(to: .now) < .seconds(5))
            }
        }
    }

    /// Found by probing: the request aggregator's 413 had an empty body, unlike every other error.
    @Test(arguments: [Listener.Role.service, .admin])
    func anOversizedBodyGetsAJSON413(listener: Listener.Role) async throws {
        try await TestServer.with { server in
            let client = try TestHTTPClient(port: server.port(of: listener))
            defer { client.close() }
            client.send(Array("POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: \(HTTPServer.maxBodyBytes + 1)\r\nExpect: 100-continue\r\n\r\n".utf8))
            let response = try client.readResponse()
            #expect(response.status == 413)
            #expect(response.header("Content-Type") == "application/json")
            let json = try response.json()
            #expect(json["status"] as? Int == 413)
            #expect((json["error"] as? String)?.contains("at most 65536 bytes") == true)
            let metrics = try server.metrics()
            #expect(metrics.value("http_requests_total", ["code": "413"]) == 1)
        }
    }

    /// Slowloris: headers trickled a byte at a time reset the idle timer forever; the request timeout ends them.
    @Test(arguments: [Listener.Role.service, .admin])
    func aTrickledRequestGets408AfterTheRequestTimeout(listener: Listener.Role) async throws {
        try await TestServer.with({ $0.requestTimeout = .milliseconds(600); $0.idleTimeout = .seconds(30) }) { server in
            let client = try TestHTTPClient(port: server.port(of: listener))
            defer { client.close() }
            let started = ContinuousClock.now
            // 16 bytes over 400 ms: the idle timer keeps being reset, the request never completes.
            for byte in "GET /health HTTP".utf8 {
                client.send([byte])
                try await Task.sleep(for: .milliseconds(25))
            }
            let response = try client.readResponse()
            #expect(started.duration(to: .now) < .seconds(5))
            #expect(response.status == 408)
            #expect(response.header("Connection") == "close")
            #expect((try response.json()["error"] as? String)?.contains("--request-timeout") == true)
            #expect(throws: TestHTTPClient.ClientError.self) { try client.readResponse() }
            #expect(try server.metrics().value("http_requests_total", ["code": "408"]) == 1)
        }
    }

    /// The request timeout covers one request, not a keep-alive connection's lifetime.
    @Test(arguments: [Listener.Role.service, .admin])
    func completeRequestsOnAKeepAliveConnectionNeverTimeOut(listener: Listener.Role) async throws {
        // The connection lives 1.6 s, past the 1 s timeout; the split request below has 6x its gap to spare,
        // so a busy machine (the parallel test run) cannot stretch it into a 408.
        try await TestServer.with({ $0.requestTimeout = .seconds(1) }) { server in
            let client = try TestHTTPClient(port: server.port(of: listener))
            defer { client.close() }
            for _ in 0..<8 {
                #expect(try client.request("GET", "/health").status == 200)
                try await Task.sleep(for: .milliseconds(200))
            }
            // A request whose bytes arrive in pieces but within the timeout is served.
            client.send(Array("GET /ready HTTP/1.1\r\n".utf8))
            try await Task.sleep(for: .milliseconds(150))
            client.send(Array("Host: x\r\n\r\n".utf8))
            #expect(try client.readResponse().status == 200)
        }
    }

    @Test(arguments: [Listener.Role.service, .admin])
    func unknownMethodsAndNonHTTPBytesAre4xxJSON(listener: Listener.Role) async throws {
        try await TestServer.with { server in
            for request in ["FOO /health HTTP/1.1\r\n\r\n", "BREW /key/8 HTTP/1.1\r\n\r\n", "\u{16}\u{03}\u{01}\u{00}\u{7a}\u{01}\r\n\r\n"] {
                let client = try TestHTTPClient(port: server.port(of: listener))
                defer { client.close() }
                client.send(Array(request.utf8))
                let response = try client.readResponse()
                #expect(response.status == 405, "\(request.debugDescription)")
                #expect(response.header("Allow") != nil)
                #expect(try response.json()["status"] as? Int == 405)
            }
            for request in [
                "GET /health HTTP/2.0\r\n\r\n", "GET /health\r\n\r\n", "POST /health HTTP/1.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                "GET /health HTTP/1.1\r\nX: a\u{01}b\r\n\r\n",
            ] {
                let client = try TestHTTPClient(port: server.port(of: listener))
                defer { client.close() }
                client.send(Array(request.utf8))
                let response = try client.readResponse()
                #expect(response.status == 400, "\(request.debugDescription)")
                #expect(try response.json()["status"] as? Int == 400)
            }
        }
    }
}
