import Foundation
@testable import KeyportCore
import Logging
import NIOPosix
import Testing

/// Every endpoint and error through a real socket on port 0.
@Suite struct ServerTests {
    @Test func keysOverHTTP() async throws {
        try await TestServer.with { server in
            let raw = try server.get("/key/32")
            #expect(raw.status == 200)
            #expect(raw.body.count == 32)
            #expect(raw.header("Content-Type") == "application/octet-stream")
            #expect(raw.header("Cache-Control") == "no-store")
            #expect(raw.header("Content-Length") == "32")
            let hex = try server.get("/key/4?encoding=hex")
            #expect(hex.status == 200)
            #expect(hex.text.count == 8)
            let bad = try server.get("/key/1025")
            #expect(bad.status == 400)
            #expect(bad.header("Content-Type") == "application/json")
            let error = try bad.json()
            #expect(error["status"] as? Int == 400)
            #expect((error["error"] as? String)?.contains("1...1024") == true)
            #expect(try server.get("/key/8?encoding=rot13").status == 400)
        }
    }

    @Test func maxSizeIsHonouredOverHTTP() async throws {
        try await TestServer.with({ $0.maxKeySize = 16 }) { server in
            let largest = try server.get("/key/16")
            #expect(largest.body.count == 16)
            let tooLarge = try server.get("/key/17")
            #expect(tooLarge.status == 400)
        }
    }

    @Test func largeKeysComeFromTheThreadPoolIntact() async throws {
        try await TestServer.with({ $0.maxKeySize = Configuration.maxKeySizeLimit }) { server in
            let client = try TestHTTPClient(port: server.port)
            defer { client.close() }
            for length in [KeyEndpoint.offloadThreshold, KeyEndpoint.offloadThreshold + 1, Configuration.maxKeySizeLimit] {
                let response = try client.request("GET", "/key/\(length)")
                #expect(response.status == 200)
                #expect(response.body.count == length)
            }
            let hex = try client.request("GET", "/key/\(Configuration.maxKeySizeLimit)?encoding=hex")
            #expect(hex.body.count == 2 * Configuration.maxKeySizeLimit)
            let metrics = try server.metrics()
            #expect(metrics.value("keyport_key_length_bytes_count") == 4)
        }
    }

    @Test func idleConnectionsAreClosed() async throws {
        try await TestServer.with({ $0.idleTimeout = .milliseconds(300) }) { server in
            let client = try TestHTTPClient(port: server.port)
            defer { client.close() }
            #expect(try client.request("GET", "/health").status == 200)
            try await Task.sleep(for: .milliseconds(900))
            #expect(throws: TestHTTPClient.ClientError.self) { try client.readResponse() }
        }
    }

    @Test func healthReadyVersionAndOpenAPI() async throws {
        try await TestServer.with { server in
            let health = try server.get("/health")
            #expect(health.status == 200)
            let ready = try server.get("/ready")
            #expect(ready.status == 200)
            #expect(try ready.json()["ready"] as? Bool == true)
            let version = try server.adminGet("/version").json()
            #expect(version["version"] as? String == BuildInfo.releaseVersion)
            #expect(version["revision"] is String)
            #expect((version["swift_version"] as? String)?.hasPrefix("6.") == true)
            let openAPI = try server.get("/openapi.yaml")
            #expect(openAPI.status == 200)
            #expect(openAPI.header("Content-Type") == "application/yaml")
            // Served byte for byte from the repository's file, whose version is the release's.
            let file = try String(contentsOfFile: TestPaths.openAPI, encoding: .utf8)
            #expect(openAPI.text == file)
            #expect(file.contains("\n  version: \(BuildInfo.releaseVersion)\n"))
            for path in ["/key/{length}:", "/ports:", "/ports/{id}:", "/health:", "/ready:", "/metrics:", "/version:"] {
                #expect(openAPI.text.contains("  " + path), "openapi.yaml lacks \(path)")
            }
        }
    }

    @Test func unknownPathsAndMethods() async throws {
        try await TestServer.with { server in
            let missing = try server.get("/nope")
            #expect(missing.status == 404)
            #expect(try missing.json()["status"] as? Int == 404)
            for method in ["POST", "PUT", "DELETE", "PATCH", "TRACE", "OPTIONS", "PROPFIND"] {
                let response = try server.send(method, "/key/8")
                #expect(response.status == 405, "\(method) /key/8")
                #expect(response.header("Allow") == "GET, HEAD")
                #expect(try response.json()["status"] as? Int == 405)
            }
            #expect(try server.send("POST", "/ready").status == 405)
            // Methods the HTTP parser does not know at all are refused with a JSON 405 too.
            for method in ["BREW", "FOO", "X-CUSTOM"] {
                let response = try server.send(method, "/key/8")
                #expect(response.status == 405, "\(method) /key/8")
                #expect(try response.json()["status"] as? Int == 405)
            }
            let health = try server.get("/health")
            #expect(health.status == 200)
        }
    }

    @Test func headAnswersLikeGetWithoutABody() async throws {
        try await TestServer.with { server in
            let client = try TestHTTPClient(port: server.port)
            defer { client.close() }
            let head = try client.request("HEAD", "/key/64")
            #expect(head.status == 200)
            #expect(head.header("Content-Length") == "64")
            #expect(head.body.isEmpty)
            // The connection is still in sync: the next response is the next request's.
            let health = try client.request("GET", "/health")
            #expect(health.status == 200)
            #expect(try health.json()["status"] as? String == "ok")
            #expect(try client.request("HEAD", "/nope").status == 404)
        }
    }

    @Test func keepAliveServesManyRequestsOnOneConnection() async throws {
        try await TestServer.with { server in
            let client = try TestHTTPClient(port: server.port)
            defer { client.close() }
            for length in 1...50 {
                let response = try client.request("GET", "/key/\(length)")
                #expect(response.body.count == length)
            }
        }
    }

    @Test func metricsCountRequestsByTemplate() async throws {
        try await TestServer.with { server in
            for length in [8, 9, 10] { _ = try server.get("/key/\(length)") }
            _ = try server.get("/key/0")
            _ = try server.get("/does/not/exist/\(UUID())")
            let metrics = try server.metrics()
            #expect(metrics.value("http_requests_total", ["route": "/key/{length}", "code": "200", "method": "GET"]) == 3)
            #expect(metrics.value("http_requests_total", ["route": "/key/{length}", "code": "400", "method": "GET"]) == 1)
            #expect(metrics.value("http_requests_total", ["route": "unmatched", "code": "404"]) == 1)
            #expect(!metrics.samples.contains { $0.labels["route"]?.contains("does") == true })
            #expect(metrics.value("keyport_key_length_bytes_count") == 3)
            #expect(metrics.value("keyport_key_length_bytes_sum") == 27)
            #expect(metrics.value("keyport_ready") == 1)
            let scraped = try server.adminGet("/metrics")
            #expect(scraped.header("Content-Type") == "text/plain; version=0.0.4; charset=utf-8")
        }
    }

    @Test func debugEndpointsAre404WhenFaultInjectionIsOff() async throws {
        try await TestServer.with { server in
            for path in ["/debug/fault", "/debug/ready", "/debug/ballast"] {
                #expect(try server.send("POST", path, body: #"{"error_rate": 1}"#).status == 404)
                #expect(try server.adminSend("POST", path, body: #"{"error_rate": 1}"#).status == 404)
            }
            let key = try server.get("/key/8")
            #expect(key.status == 200)
        }
    }

    @Test func faultInjectionFailsKeyRequests() async throws {
        try await TestServer.with({ $0.faultInjectionEnabled = true }) { server in
            #expect(try server.adminSend("POST", "/debug/fault", body: #"{"error_rate": 1}"#).status == 204)
            let failed = try server.get("/key/8")
            #expect(failed.status == 500)
            #expect(try failed.json()["status"] as? Int == 500)
            #expect(try server.get("/health").status == 200)
            #expect(try server.adminSend("POST", "/debug/fault", body: #"{"error_rate": 0.5}"#).status == 204)
            let codes = try (0..<200).map { _ in try server.get("/key/8").status }
            let failures = codes.filter { $0 == 500 }.count
            #expect(failures > 50 && failures < 150)
            #expect(Set(codes) == [200, 500])
            #expect(try server.adminSend("POST", "/debug/fault", body: #"{"error_rate": 0}"#).status == 204)
            #expect(try (0..<20).allSatisfy { _ in try server.get("/key/8").status == 200 })
            let metrics = try server.metrics()
            #expect(try #require(metrics.value("http_requests_total", ["route": "/key/{length}", "code": "500"])) >= 51)
        }
    }

    @Test func faultInjectionRejectsBadBodies() async throws {
        try await TestServer.with({ $0.faultInjectionEnabled = true }) { server in
            for body in [#"{"error_rate": 2}"#, #"{"error_rate": -0.1}"#, #"{"rate": 1}"#, "nonsense", ""] {
                let response = try server.adminSend("POST", "/debug/fault", body: body)
                #expect(response.status == 400, "body \(body)")
                #expect(try response.json()["error"] is String)
            }
            #expect(try server.adminSend("POST", "/debug/ballast", body: #"{"bytes": -1}"#).status == 400)
            #expect(try server.adminSend("POST", "/debug/ready", body: #"{"ready": "no"}"#).status == 400)
            #expect(try server.adminGet("/debug/fault").status == 405)
        }
    }

    @Test func forcedNotReadyTurnsReadyTo503AndBack() async throws {
        try await TestServer.with({ $0.faultInjectionEnabled = true }) { server in
            #expect(try server.adminSend("POST", "/debug/ready", body: #"{"ready": false}"#).status == 204)
            let ready = try server.get("/ready")
            #expect(ready.status == 503)
            #expect((try ready.json()["reason"] as? String)?.contains("forced") == true)
            #expect(try server.metrics().value("keyport_ready") == 0)
            #expect(try server.get("/health").status == 200)
            #expect(try server.adminSend("POST", "/debug/ready", body: #"{"ready": true}"#).status == 204)
            #expect(try server.get("/ready").status == 200)
            #expect(try server.metrics().value("keyport_ready") == 1)
        }
    }

    @Test func ballastHoldsResidentMemory() async throws {
        try await TestServer.with({ $0.faultInjectionEnabled = true }) { server in
            let before = try #require(try server.metrics().value("process_resident_memory_bytes"))
            #expect(try server.adminSend("POST", "/debug/ballast", body: #"{"bytes": 200000000}"#).status == 204)
            let held = try #require(try server.metrics().value("process_resident_memory_bytes"))
            #expect(held - before > 150_000_000)
            #expect(try server.adminSend("POST", "/debug/ballast", body: #"{"bytes": 0}"#).status == 204)
            let after = try #require(try server.metrics().value("process_resident_memory_bytes"))
            #expect(held - after > 150_000_000)
        }
    }

    @Test func oversizedBodiesAreRejected() async throws {
        try await TestServer.with({ $0.faultInjectionEnabled = true }) { server in
            let body = "{\"error_rate\": 0" + String(repeating: " ", count: HTTPServer.maxBodyBytes) + "}"
            let response = try server.adminSend("POST", "/debug/fault", body: body)
            #expect(response.status == 413)
            #expect(try server.get("/health").status == 200)
        }
    }

    @Test func oversizedHeadersAreRejectedAndTheServerKeepsServing() async throws {
        try await TestServer.with { server in
            let huge = String(repeating: "a", count: 20_000)
            let response = try? server.get("/health", headers: ["X-Big": huge])
            #expect(response?.status == 431)
            #expect(try response?.json()["status"] as? Int == 431)
            let health = try server.get("/health")
            #expect(health.status == 200)
        }
    }

    @Test func garbageRequestsGet400AndTheServerKeepsServing() async throws {
        try await TestServer.with { server in
            let client = try TestHTTPClient(port: server.port)
            defer { client.close() }
            client.send(Array("GET /health HTTP/1.1\r\nno colon in this header\r\n\r\n".utf8))
            let response = try client.readResponse()
            #expect(response.status == 400)
            #expect(try response.json()["error"] as? String == "malformed HTTP request")
            #expect(try server.get("/health").status == 200)
        }
    }

    @Test func bindingAnUsedPortFails() async throws {
        try await TestServer.with { server in
            var configuration = Configuration()
            configuration.host = "127.0.0.1"
            configuration.port = server.port
            configuration.adminPort = 0
            let application = KeyportApplication(configuration: configuration, logger: .init(label: "t") { _ in SwiftLogNoOpLogHandler() })
            let second = application.makeServer(group: .singletonMultiThreadedEventLoopGroup)
            let error = await #expect(throws: ListenerBindError.self) { try await second.run() }
            #expect(error?.role == .service)
            #expect(error?.description.contains("--srv-port (env KEYPORT_SRV_PORT)") == true)
        }
    }
}
