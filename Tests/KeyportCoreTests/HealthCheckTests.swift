import Foundation
@testable import KeyportCore
import Testing

@Suite struct HealthCheckTests {
    @Test func urlsParse() throws {
        #expect(try HealthCheck.parse("http://127.0.0.1:1123/ready") == .init(host: "127.0.0.1", port: 1123, path: "/ready"))
        #expect(try HealthCheck.parse("http://keyport") == .init(host: "keyport", port: 80, path: "/"))
        #expect(try HealthCheck.parse("http://[::1]:8080/key/8?encoding=hex") == .init(host: "::1", port: 8080, path: "/key/8?encoding=hex"))
        #expect(try HealthCheck.parse("https://keyport:8443/ready") == .init(host: "keyport", port: 8443, path: "/ready", secure: true))
        #expect(try HealthCheck.parse("https://keyport").port == 443)
        for bad in ["https://", "ftp://x", "http://", "http://:80/", "http://x:0/", "http://x:99999/", "http://x:port/", "http://[::1/"] {
            #expect(throws: HealthCheck.Failure.self, "\(bad)") { try HealthCheck.parse(bad) }
        }
    }

    /// `reload-on-change` POSTs `/-/reload`: the method reaches the server (keyport answers a bodiless
    /// POST to /debug/fault 400, a GET 405).
    @Test func theMethodIsSent() async throws {
        try await TestServer.with({ $0.faultInjectionEnabled = true }) { server in
            let url = "http://127.0.0.1:\(server.port)/debug/fault"
            await #expect(throws: HealthCheck.Failure.status(400)) {
                try await HealthCheck.run(url: url, timeout: .seconds(2), method: .POST)
            }
            await #expect(throws: HealthCheck.Failure.status(405)) {
                try await HealthCheck.run(url: url, timeout: .seconds(2))
            }
        }
    }

    @Test func twoHundredsPassOthersFail() async throws {
        try await TestServer.with({ $0.faultInjectionEnabled = true }) { server in
            let status = try await HealthCheck.run(url: "http://127.0.0.1:\(server.port)/health", timeout: .seconds(2))
            #expect(status == 200)
            await #expect(throws: HealthCheck.Failure.status(404)) {
                try await HealthCheck.run(url: "http://127.0.0.1:\(server.port)/nope", timeout: .seconds(2))
            }
        }
    }

    @Test func refusedConnectionsFail() async throws {
        // Bound but not listening: the kernel refuses connections to it. Closing it instead let a
        // parallel test's listener, or this connect's own source port (a self-connect), take the port,
        // and the connect then succeeded and timed out (seen once under CI load).
        let (fd, port) = Self.boundSocket()
        defer { close(fd) }
        let error = try await #require(throws: HealthCheck.Failure.self) {
            try await HealthCheck.run(url: "http://127.0.0.1:\(port)/", timeout: .seconds(5))
        }
        guard case .connection = error else {
            Issue.record("expected a connection failure, got \(error)")
            return
        }
    }

    @Test func silentServersTimeOut() async throws {
        // A listening socket that never answers: the kernel accepts the connection, nobody replies.
        let (fd, port) = Self.boundSocket()
        defer { close(fd) }
        listen(fd, 8)
        await #expect(throws: HealthCheck.Failure.timeout) {
            try await HealthCheck.run(url: "http://127.0.0.1:\(port)/", timeout: .milliseconds(300))
        }
    }

    /// One deadline for connect and response together: a connect that takes most of the timeout leaves
    /// only the rest for the answer (a HEALTHCHECK's `--timeout` is what it waits, not twice that).
    @Test func theTimeoutCoversConnectAndResponseTogether() async throws {
        // Backlog 0 holds one queued connection; while it is there the kernel drops new SYNs, so the
        // client's connect completes only with its SYN retransmission about 1 s in. The server answers
        // 200 half a second after that: within a fresh 1.2 s after the connect, but after 1.2 s in all.
        let (fd, port) = Self.boundSocket()
        defer { close(fd) }
        listen(fd, 0)
        let (filler, _) = Self.connectedSocket(port: port)
        defer { close(filler) }
        let server = Thread {
            usleep(400_000)
            let queued = accept(fd, nil, nil)
            let client = accept(fd, nil, nil)
            usleep(500_000)
            let answer = Array("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".utf8)
            _ = answer.withUnsafeBytes { write(client, $0.baseAddress, $0.count) }
            usleep(200_000)
            close(client)
            close(queued)
        }
        server.start()
        await #expect(throws: HealthCheck.Failure.timeout) {
            try await HealthCheck.run(url: "http://127.0.0.1:\(port)/", timeout: .milliseconds(1200))
        }
        try await Task.sleep(for: .seconds(1))
    }

    /// A TCP socket connected to a loopback port.
    static func connectedSocket(port: Int) -> (fd: Int32, result: Int32) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        return (fd, result)
    }

    /// A TCP socket bound to a free loopback port, and that port.
    static func boundSocket() -> (fd: Int32, port: Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length)
                return getsockname(fd, pointer, &length)
            }
        }
        return (fd, Int(UInt16(bigEndian: address.sin_port)))
    }
}
