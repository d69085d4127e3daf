import Foundation
@testable import KeyportCore
import Testing

import SystemLibC

/// The two listeners: which endpoint answers where, the admin port's flags, and the shutdown order.
@Suite struct ListenerTests {
    /// One endpoint and the status it answers on each listener (fault injection on).
    struct Row: Sendable, CustomTestStringConvertible {
        var method: String
        var path: String
        var body: String?
        var service: Int
        var admin: Int
        var testDescription: String { "\(method) \(path)" }
    }

    static let table: [Row] = [
        Row(method: "GET", path: "/key/32", service: 200, admin: 404),
        Row(method: "HEAD", path: "/key/32", service: 200, admin: 404),
        Row(method: "GET", path: "/ports", service: 200, admin: 404),
        Row(method: "GET", path: "/ports/CLVAP", service: 200, admin: 404),
        Row(method: "GET", path: "/ports/XXXXX", service: 404, admin: 404),
        Row(method: "GET", path: "/openapi.yaml", service: 200, admin: 404),
        Row(method: "GET", path: "/health", service: 200, admin: 200),
        Row(method: "GET", path: "/ready", service: 200, admin: 200),
        Row(method: "GET", path: "/metrics", service: 404, admin: 200),
        Row(method: "GET", path: "/version", service: 404, admin: 200),
        Row(method: "POST", path: "/debug/fault", body: #"{"error_rate": 0}"#, service: 404, admin: 204),
        Row(method: "POST", path: "/debug/ready", body: #"{"ready": true}"#, service: 404, admin: 204),
        Row(method: "POST", path: "/debug/ballast", body: #"{"bytes": 0}"#, service: 404, admin: 204),
        Row(method: "GET", path: "/debug/fault", service: 404, admin: 405),
        Row(method: "POST", path: "/metrics", service: 404, admin: 405),
        Row(method: "GET", path: "/nope", service: 404, admin: 404),
    ]

    @Test func eachEndpointAnswersOnItsListenerOnly() async throws {
        try await TestServer.with({ $0.faultInjectionEnabled = true }) { server in
            for row in Self.table {
                for (listener, expected) in [(Listener.Role.service, row.service), (.admin, row.admin)] {
                    let response = try TestHTTPClient.fetch(
                        port: server.port(of: listener), row.method, row.path, body: row.body.map { Array($0.utf8) })
                    #expect(response.status == expected, "\(row.method) \(row.path) on the \(listener) listener")
                }
            }
        }
    }

    @Test func debugEndpointsAreNeverOnTheServiceListener() async throws {
        try await TestServer.with({ $0.faultInjectionEnabled = true }) { server in
            // The admin listener takes the fault; the service listener neither serves nor routes /debug.
            let refused = try server.send("POST", "/debug/fault", body: #"{"error_rate": 1}"#)
            #expect(refused.status == 404)
            #expect(try server.get("/key/8").status == 200)
            #expect(try server.adminSend("POST", "/debug/fault", body: #"{"error_rate": 1}"#).status == 204)
            #expect(try server.get("/key/8").status == 500)
            #expect(try server.adminSend("POST", "/debug/fault", body: #"{"error_rate": 0}"#).status == 204)
        }
    }

    @Test func adminRequestsAreCountedWithTheirRoute() async throws {
        try await TestServer.with { server in
            _ = try server.adminGet("/version")
            _ = try server.get("/key/8")
            let metrics = try server.metrics()
            #expect(metrics.value("http_requests_total", ["route": "/version", "code": "200", "method": "GET"]) == 1)
            #expect(metrics.value("http_requests_total", ["route": "/key/{length}", "code": "200", "method": "GET"]) == 1)
            // The scrape answering this one is counted once it is written.
            let again = try server.metrics()
            #expect(again.value("http_requests_total", ["route": "/metrics", "code": "200", "method": "GET"]) == 1)
        }
    }

    @Test func readyOnTheServiceListenerGivesOnlyAShortCode() async throws {
        try await TestServer.with({ $0.faultInjectionEnabled = true }) { server in
            #expect(try server.adminSend("POST", "/debug/ready", body: #"{"ready": false}"#).status == 204)
            let terse = try server.get("/ready")
            #expect(terse.status == 503)
            let json = try terse.json()
            #expect(json["ready"] as? Bool == false)
            #expect(json["reason"] as? String == "forced")
            #expect(json.count == 2)
            let full = try server.adminGet("/ready")
            #expect(full.status == 503)
            #expect(try full.json()["reason"] as? String == "forced not ready by POST /debug/ready")
        }
    }

    /// A client that sends `Expect: 100-continue` holds its body back until it hears from the server.
    @Test(arguments: [Listener.Role.service, .admin])
    func expectContinueGetsAnInterimAnswer(listener: Listener.Role) async throws {
        try await TestServer.with({ $0.faultInjectionEnabled = true }) { server in
            let client = try TestHTTPClient(port: server.port(of: listener))
            defer { client.close() }
            let (path, body, final) = listener == .service
                ? ("/key/32", #"{"a":1}"#, 405) : ("/debug/fault", #"{"error_rate": 0}"#, 204)
            client.send(Array("POST \(path) HTTP/1.1\r\nHost: x\r\nContent-Length: \(body.utf8.count)\r\nExpect: 100-continue\r\n\r\n".utf8))
            #expect(try client.readResponse().status == 100)
            client.send(Array(body.utf8))
            #expect(try client.readResponse().status == final)
            // The connection stays in step.
            #expect(try client.request("GET", "/health").status == 200)
        }
    }

    @Test func aRequestWithoutExpectGetsNoInterimAnswer() async throws {
        try await TestServer.with { server in
            let client = try TestHTTPClient(port: server.port)
            defer { client.close() }
            #expect(try client.request("POST", "/key/32", body: Array("{}".utf8)).status == 405)
        }
    }
}

/// The real executable: the admin port's bad input, both address families, the shutdown order.
@Suite(.serialized) struct ListenerProcessTests {
    @Test func theSamePortForBothListenersIsRefusedNamingBothFlags() async throws {
        let keyport = try KeyportProcess(["--srv-port", "18123", "--admin-port", "18123"])
        #expect(try await keyport.exitStatus() == 64)
        let lines = keyport.standardError.split(separator: "\n")
        #expect(lines.count == 1)
        #expect(lines.first?.contains("--admin-port") == true)
        #expect(lines.first?.contains("--srv-port") == true)
        #expect(!keyport.standardOutput.contains("listening"))
    }

    @Test(arguments: [("--admin-port", "65536"), ("--admin-port", "-1"), ("--admin-port", "x"), ("--admin-host", "a b")])
    func badAdminValuesExitBeforeBinding(flag: String, value: String) async throws {
        let keyport = try KeyportProcess(["--srv-port", "0", "\(flag)=\(value)"])
        #expect(try await keyport.exitStatus() == 64)
        let lines = keyport.standardError.split(separator: "\n")
        #expect(lines.count == 1)
        #expect(lines.first?.contains(flag) == true)
        #expect(!keyport.standardOutput.contains("listening"))
    }

    /// A port another socket holds: exit 64 naming the flag, and nothing left listening.
    @Test(arguments: ["--admin-port", "--srv-port"])
    func aPortInUseExits64AndLeavesNothingRunning(flag: String) async throws {
        let holder = try ListeningSocket()
        defer { holder.close() }
        let other = flag == "--admin-port" ? "--srv-port" : "--admin-port"
        let keyport = try KeyportProcess(["--host", "127.0.0.1", flag, String(holder.port), other, "0"])
        defer { keyport.stop() }
        #expect(try await keyport.exitStatus() == 64)
        let lines = keyport.standardError.split(separator: "\n")
        #expect(lines.count == 1)
        #expect(lines.first?.contains(flag) == true)
        #expect(!keyport.standardOutput.contains("\"listening\""))
    }

    /// The default host takes IPv4 and IPv6 on one socket.
    @Test func theDefaultHostServesIPv4AndIPv6() async throws {
        let keyport = try KeyportProcess(["--srv-port", "0", "--admin-port", "0"])
        defer { keyport.stop() }
        let port = try await keyport.listeningPort()
        let adminPort = try await keyport.listeningPort(of: "admin")
        for address in ["127.0.0.1", "::1"] {
            let client = try TestHTTPClient(port: port, address: address)
            defer { client.close() }
            #expect(try client.request("GET", "/health").status == 200, "service on \(address)")
            let admin = try TestHTTPClient(port: adminPort, address: address)
            defer { admin.close() }
            #expect(try admin.request("GET", "/version").status == 200, "admin on \(address)")
        }
        let listening = keyport.logLines.filter { $0["message"] as? String == "listening" }
        #expect(listening.map { $0["host"] as? String } == ["::", "::"])
    }

    /// SIGTERM drains the service listener first; the admin listener answers /metrics until it has.
    @Test func theAdminListenerOutlivesTheServiceDrain() async throws {
        let keyport = try KeyportProcess(["--host", "127.0.0.1", "--srv-port", "0", "--admin-port", "0", "--enable-fault-injection"])
        defer { keyport.stop() }
        let port = try await keyport.listeningPort()
        let adminPort = try await keyport.listeningPort(of: "admin")
        try await waitUntil { (try? TestHTTPClient.fetch(port: port, "GET", "/ready").status) == 200 }
        // One request stays in flight on the service listener for a few seconds.
        #expect(try TestHTTPClient.fetch(port: adminPort, "POST", "/debug/fault", body: Array(#"{"delay_ms": 4000}"#.utf8)).status == 204)
        let inFlight = try TestHTTPClient(port: port)
        defer { inFlight.close() }
        inFlight.send(Array("GET /key/8 HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        // Time for the request to arrive and start its delay (a connection with no request yet would just be closed).
        try await Task.sleep(for: .milliseconds(500))
        keyport.signal(SIGTERM)
        // The service listener stops accepting; the admin listener still serves while the request finishes.
        try await waitUntil { (try? TestHTTPClient(port: port)).map { $0.close(); return false } ?? true }
        let scrape = try TestHTTPClient.fetch(port: adminPort, "GET", "/metrics")
        #expect(scrape.status == 200)
        #expect(try MetricsText(scrape.text).value("keyport_ready") == 0)
        #expect(try inFlight.readResponse().status == 200)
        #expect(try await keyport.exitStatus() == 0)
        let messages = keyport.logLines.compactMap { $0["message"] as? String }
        #expect(messages.contains("service listener drained: closing the admin listener"))
    }
}

/// A TCP socket listening on a free loopback port, to make a port "in use".
struct ListeningSocket {
    let fd: Int32
    let port: Int

    init() throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(descriptor, pointer, length) == 0 && listen(descriptor, 1) == 0
                    && getsockname(descriptor, pointer, &length) == 0
            }
        }
        guard bound else { throw TestHTTPClient.ClientError.connect(errno) }
        fd = descriptor
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    func close() { SystemLibC.close(fd) }
}
