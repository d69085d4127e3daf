import Foundation
@testable import KeyportCore
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// A keyport application served in-process on 127.0.0.1 port 0 for the length of one test.
struct TestServer {
    let application: KeyportApplication
    /// The service listener's port.
    let port: Int
    /// The admin listener's port.
    let adminPort: Int

    /// Starts the server and the ports loader, waits until the port is bound and the first load ended,
    /// runs `body`, then shuts down gracefully.
    static func with(
        _ configure: (inout Configuration) -> Void = { _ in },
        logSink: LogSink = LogSink { _ in },
        tls: TLSMaterial? = nil,
        _ body: (TestServer) async throws -> Void
    ) async throws {
        var configuration = Configuration()
        configuration.host = "127.0.0.1"
        configuration.port = 0
        configuration.adminPort = 0
        configure(&configuration)
        let factory = configuration.makeLogHandlerFactory(sink: logSink)
        let logger = Logger(label: "keyport-test", factory: factory)
        let application = KeyportApplication(configuration: configuration, logger: logger, tls: tls)
        let server = application.makeServer(group: MultiThreadedEventLoopGroup.singleton)
        let reloader = application.makePortsReloader()
        let group = ServiceGroup(services: [reloader, server], logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            defer { tasks.cancelAll() }
            let address = try await server.localAddress.get()
            let adminAddress = try await server.address(of: .admin).get()
            try await waitUntil { Self.firstLoadFinished(application) }
            try await body(TestServer(application: application, port: address.port!, adminPort: adminAddress.port!))
            await group.triggerGracefulShutdown()
            try await tasks.next()
        }
    }

    private static func firstLoadFinished(_ application: KeyportApplication) -> Bool {
        let text = String(decoding: application.metrics.exposition(), as: UTF8.self)
        let lines = text.split(separator: "\n").filter { $0.hasPrefix("keyport_ports_loads_total{") }
        return lines.contains { !$0.hasSuffix(" 0") }
    }

    func get(_ target: String, headers: [String: String] = [:]) throws -> TestHTTPClient.Response {
        try TestHTTPClient.fetch(port: port, "GET", target, headers: headers)
    }

    func send(_ method: String, _ target: String, body: String? = nil) throws -> TestHTTPClient.Response {
        try TestHTTPClient.fetch(port: port, method, target, body: body.map { Array($0.utf8) })
    }

    /// The port of `listener`, for tests that run over both.
    func port(of listener: Listener.Role) -> Int {
        listener == .service ? port : adminPort
    }

    /// A GET to the admin listener.
    func adminGet(_ target: String, headers: [String: String] = [:]) throws -> TestHTTPClient.Response {
        try TestHTTPClient.fetch(port: adminPort, "GET", target, headers: headers)
    }

    /// A request to the admin listener (`/debug/*` lives there).
    func adminSend(_ method: String, _ target: String, body: String? = nil) throws -> TestHTTPClient.Response {
        try TestHTTPClient.fetch(port: adminPort, method, target, body: body.map { Array($0.utf8) })
    }

    func metrics() throws -> MetricsText {
        try MetricsText(try adminGet("/metrics").text)
    }
}

/// Polls `condition` every 20 ms for up to `timeout`.
func waitUntil(timeout: Duration = .seconds(10), _ condition: () throws -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while try !condition() {
        guard ContinuousClock.now < deadline else { throw WaitTimeout() }
        try await Task.sleep(for: .milliseconds(20))
    }
}

struct WaitTimeout: Error {}

/// Where the test data lives: the repository's sample, and the shared real ports file beside the checkout.
enum TestPaths {
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let sample = repositoryRoot.appendingPathComponent("Sources/KeyportCore/Resources/sample-ports.json").path
    static let openAPI = repositoryRoot.appendingPathComponent("Sources/KeyportCore/Resources/openapi.yaml").path
    static let sharedPorts = repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared/data/ports.json").path
    /// The `keyport` executable built beside the test bundle in the same build folder.
    static var keyportBinary: String {
        let testExecutable = URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? "")
        return testExecutable.deletingLastPathComponent().appendingPathComponent("keyport").path
    }

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("keyport-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
