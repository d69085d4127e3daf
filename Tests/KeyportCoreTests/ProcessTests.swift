import Foundation
@testable import KeyportCore
import Testing

/// The real executable: exit codes, signals, the SIGTERM drain.
@Suite(.serialized) struct ProcessTests {
    @Test func sigtermDrainsThenExitsZero() async throws {
        let keyport = try KeyportProcess(["--host", "127.0.0.1", "--srv-port", "0", "--admin-port", "0", "--shutdown-delay", "5s"])
        defer { keyport.stop() }
        let port = try await keyport.listeningPort()
        try await waitUntil { (try? TestHTTPClient.fetch(port: port, "GET", "/ready").status) == 200 }
        let kept = try TestHTTPClient(port: port)
        defer { kept.close() }
        #expect(try kept.request("GET", "/key/8").status == 200)

        let signalled = ContinuousClock.now
        keyport.signal(SIGTERM)
        try await waitUntil { (try? TestHTTPClient.fetch(port: port, "GET", "/ready").status) == 503 }
        // Not ready, yet still serving for the shutdown delay: new connections and kept-alive ones alike.
        let ready = try TestHTTPClient.fetch(port: port, "GET", "/ready")
        #expect(try ready.json()["reason"] as? String == "draining")
        for _ in 0..<3 {
            #expect(try TestHTTPClient.fetch(port: port, "GET", "/key/16").body.count == 16)
            #expect(try kept.request("GET", "/key/4").body.count == 4)
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(keyport.process.isRunning)

        let status = try await keyport.exitStatus()
        #expect(status == 0)
        // It kept serving for the whole delay before it drained and exited.
        #expect(ContinuousClock.now - signalled >= .seconds(5))
        #expect(throws: (any Error).self) { try TestHTTPClient.fetch(port: port, "GET", "/health") }
        let messages = keyport.logLines.compactMap { $0["message"] as? String }
        #expect(messages.contains("shutting down: not ready, still serving during the shutdown delay"))
        #expect(messages.contains("stopped"))
    }

    @Test func sigintStopsAtOnceWithoutADelay() async throws {
        let keyport = try KeyportProcess(["--host", "127.0.0.1", "--srv-port", "0", "--admin-port", "0"])
        defer { keyport.stop() }
        _ = try await keyport.listeningPort()
        keyport.signal(SIGINT)
        #expect(try await keyport.exitStatus(timeout: .seconds(5)) == 0)
    }

    @Test func badFlagsExitBeforeBindingWithOneLine() async throws {
        let keyport = try KeyportProcess(["--max-size", "0", "--srv-port", "0", "--admin-port", "0"])
        let status = try await keyport.exitStatus()
        #expect(status == 64)
        let lines = keyport.standardError.split(separator: "\n")
        #expect(lines.count == 1)
        #expect(lines.first?.contains("--max-size") == true)
        #expect(lines.first?.contains("1...1048576") == true)
        #expect(!keyport.standardOutput.contains("listening"))
    }

    @Test func aMisspeltFlagExitsBeforeBinding() async throws {
        let keyport = try KeyportProcess(["--srv-prot", "0"])
        #expect(try await keyport.exitStatus() == 64)
        #expect(keyport.standardError.split(separator: "\n").count == 1)
        #expect(keyport.standardError.contains("--srv-prot"))
        #expect(!keyport.standardOutput.contains("listening"))
    }

    @Test func serveHelpListsEveryFlagWithItsDefaultAndEnvironmentTwin() async throws {
        let keyport = try KeyportProcess(["serve", "--help"])
        #expect(try await keyport.exitStatus() == 0)
        for flag in ServerFlag.all {
            #expect(keyport.standardOutput.contains(flag.name), "\(flag.name) missing from --help")
            #expect(keyport.standardOutput.contains(flag.environmentName))
        }
    }

    @Test func badEnvironmentExitsToo() async throws {
        let keyport = try KeyportProcess(["--srv-port", "0", "--admin-port", "0"], environment: ["KEYPORT_LOG_FORMAT": "yaml"])
        #expect(try await keyport.exitStatus() == 64)
        #expect(keyport.standardError.contains("KEYPORT_LOG_FORMAT"))
    }

    @Test func textLogsForHumans() async throws {
        let keyport = try KeyportProcess(["--host", "127.0.0.1", "--srv-port", "0", "--admin-port", "0", "--log-format", "text"])
        defer { keyport.stop() }
        try await waitUntil { keyport.standardOutput.contains("listening") }
        #expect(keyport.logLines.isEmpty)
        #expect(keyport.standardOutput.contains("notice"))
        keyport.signal(SIGTERM)
        #expect(try await keyport.exitStatus() == 0)
    }

    @Test func checkSubcommandExitCodes() async throws {
        try await TestServer.with({ $0.faultInjectionEnabled = true }) { server in
            let ok = try KeyportProcess(["check", "http://127.0.0.1:\(server.port)/ready"])
            #expect(try await ok.exitStatus() == 0)
            _ = try server.adminSend("POST", "/debug/ready", body: #"{"ready": false}"#)
            let notReady = try KeyportProcess(["check", "http://127.0.0.1:\(server.port)/ready"])
            #expect(try await notReady.exitStatus() == 1)
            #expect(notReady.standardError.contains("503"))
            // --expect-status: that status and no other (helm test checks /metrics is not on the service port).
            let absent = try KeyportProcess(["check", "http://127.0.0.1:\(server.port)/metrics", "--expect-status", "404"])
            #expect(try await absent.exitStatus() == 0)
            let present = try KeyportProcess(["check", "http://127.0.0.1:\(server.adminPort)/metrics", "--expect-status", "404"])
            #expect(try await present.exitStatus() == 1)
            #expect(present.standardError.contains("answered HTTP 200, expected 404"))
            let badURL = try KeyportProcess(["check", "ftp://example.invalid/"])
            #expect(try await badURL.exitStatus() == 1)
            #expect(badURL.standardError.contains("unsupported URL"))
        }
    }
}

@Suite(.serialized) struct ReloadSignalTests {
    @Test func sighupReloadsTheFile() async throws {
        let directory = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("ports.json")
        try PortsServerTests.twoPorts.write(to: file, atomically: true, encoding: .utf8)
        let keyport = try KeyportProcess(["--host", "127.0.0.1", "--srv-port", "0", "--admin-port", "0", "--ports-file", file.path])
        defer { keyport.stop() }
        let port = try await keyport.listeningPort()
        try await waitUntil { (try? TestHTTPClient.fetch(port: port, "GET", "/ready").status) == 200 }
        #expect(try TestHTTPClient.fetch(port: port, "GET", "/ports/CCCCC").status == 404)
        // Same size and a restored mtime would fool a poller; SIGHUP reloads regardless.
        try PortsServerTests.threePorts.write(to: file, atomically: true, encoding: .utf8)
        keyport.signal(SIGHUP)
        try await waitUntil { (try? TestHTTPClient.fetch(port: port, "GET", "/ports/CCCCC").status) == 200 }
        // The reload's log line may still be on its way through the pipe.
        try await waitUntil { keyport.logLines.contains { $0["reason"] as? String == "SIGHUP" } }
        keyport.signal(SIGTERM)
        #expect(try await keyport.exitStatus() == 0)
    }
}
