import Foundation
@testable import KeyportCore
import Testing

/// `/ports` over HTTP, readiness that follows the data, and reloads that never lose good data.
@Suite struct PortsServerTests {
    static let twoPorts = """
        {"AAAAA": {"name": "Alpha", "city": "Alpha", "country": "Testland", "unlocs": ["AAAAA", "AAAAB"]},
         "BBBBB": {"name": "Béta", "city": "Beta", "country": "Otherland", "coordinates": [1, 2.5]}}
        """
    static let threePorts = """
        {"AAAAA": {"name": "Alpha", "city": "Alpha", "country": "Testland"},
         "BBBBB": {"name": "Beta", "city": "Beta", "country": "Otherland"},
         "CCCCC": {"name": "Gamma", "city": "Gamma", "country": "testland"}}
        """

    func write(_ text: String, to url: URL) throws {
        // Write beside and rename, as an editor or a ConfigMap update would, so a reader never sees half a file.
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".tmp-\(UUID().uuidString)")
        try text.write(to: temporary, atomically: false, encoding: .utf8)
        _ = rename(temporary.path, url.path)
    }

    @Test func listingPagingAndLookup() async throws {
        let directory = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("ports.json")
        try write(Self.threePorts, to: file)
        try await TestServer.with({ $0.portsFile = file.path }) { server in
            let first = try server.get("/ports?limit=2").json()
            let ids = (first["ports"] as? [[String: Any]])?.compactMap { $0["id"] as? String }
            #expect(ids == ["AAAAA", "BBBBB"])
            #expect(first["next"] as? String == "BBBBB")
            let second = try server.get("/ports?limit=2&after=BBBBB").json()
            #expect((second["ports"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == ["CCCCC"])
            #expect(second["next"] is NSNull)
            let testland = try server.get("/ports?country=TESTLAND").json()
            #expect((testland["ports"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == ["AAAAA", "CCCCC"])
            let one = try server.get("/ports/BBBBB")
            #expect(one.status == 200)
            #expect(one.header("Content-Type") == "application/json")
            #expect(try one.json()["name"] as? String == "Beta")
            let missing = try server.get("/ports/ZZZZZ")
            #expect(missing.status == 404)
            #expect((try missing.json()["error"] as? String)?.contains("ZZZZZ") == true)
            let head = try TestHTTPClient.fetch(port: server.port, "HEAD", "/ports/AAAAA")
            #expect(head.status == 200 && head.body.isEmpty)
            #expect(try server.metrics().value("keyport_ports") == 3)
        }
    }

    @Test(arguments: [
        "limit=0", "limit=1001", "limit=abc", "limit=", "after=", "country=", "sort=name", "limit=5&bogus=1", "country=%zz",
    ])
    func badParametersAre400(query: String) async throws {
        try await TestServer.with { server in
            let response = try server.get("/ports?" + query)
            #expect(response.status == 400)
            #expect(try response.json()["status"] as? Int == 400)
        }
    }

    @Test func theSampleFileServesByDefault() async throws {
        try await TestServer.with { server in
            #expect(try server.get("/ready").status == 200)
            let page = try server.get("/ports?limit=1000").json()
            let records = try #require(page["ports"] as? [[String: Any]])
            #expect(records.count >= 5)
            #expect(records.allSatisfy { $0["name"] is String && $0["city"] is String && $0["country"] is String })
        }
    }

    @Test func aBadFileAtStartLeavesTheServerAliveButNotReady() async throws {
        let directory = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("ports.json")
        try write(#"{"AAAAA": {"name": "Alpha", "city": "Alpha"}}"#, to: file)
        try await TestServer.with({ $0.portsFile = file.path }) { server in
            let ready = try server.adminGet("/ready")
            #expect(ready.status == 503)
            let reason = try #require(try ready.json()["reason"] as? String)
            #expect(reason.contains("ports.json"))
            #expect(reason.contains("country"))
            // The public listener says only a short code: no path, no parser text.
            let terse = try server.get("/ready")
            #expect(terse.status == 503)
            #expect(try terse.json()["reason"] as? String == "load_failed")
            #expect(try terse.json()["ready"] as? Bool == false)
            #expect(!terse.text.contains("ports.json"))
            #expect(try server.get("/health").status == 200)
            #expect(try server.get("/key/8").status == 200)
            let metrics = try server.metrics()
            #expect(metrics.value("keyport_ready") == 0)
            #expect(metrics.value("keyport_ports_loads_total", ["result": "failure"]) == 1)
            #expect(metrics.value("keyport_ports_loads_total", ["result": "success"]) == 0)
            #expect(metrics.value("keyport_ports") == 0)
        }
    }

    @Test func aMissingFileTurnsReadyWhenItAppears() async throws {
        let directory = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("ports.json")
        try await TestServer.with({
            $0.portsFile = file.path
            $0.portsPollInterval = .milliseconds(100)
        }) { server in
            let ready = try server.get("/ready")
            #expect(ready.status == 503)
            try write(Self.twoPorts, to: file)
            try await waitUntil { try server.get("/ready").status == 200 }
            #expect(try server.metrics().value("keyport_ports") == 2)
        }
    }

    @Test func aChangedFileIsReloadedAndABadOneNeverReplacesGoodData() async throws {
        let directory = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("ports.json")
        try write(Self.twoPorts, to: file)
        try await TestServer.with({
            $0.portsFile = file.path
            $0.portsPollInterval = .milliseconds(100)
        }) { server in
            #expect(try server.metrics().value("keyport_ports") == 2)
            try write(Self.threePorts, to: file)
            try await waitUntil { try server.metrics().value("keyport_ports") == 3 }
            #expect(try server.get("/ports/CCCCC").status == 200)

            // Truncated JSON: the reload fails, the three records keep serving, readiness stays.
            try write(String(Self.twoPorts.prefix(60)), to: file)
            try await waitUntil { try server.metrics().value("keyport_ports_loads_total", ["result": "failure"]) == 1 }
            #expect(try server.get("/ready").status == 200)
            #expect(try server.get("/ports/CCCCC").status == 200)
            #expect(try server.metrics().value("keyport_ports") == 3)
            #expect(try server.metrics().value("keyport_ports_loads_total", ["result": "success"]) == 2)
        }
    }

    @Test func aConfigMapStyleSymlinkSwapIsSeen() async throws {
        // Kubernetes mounts ports.json -> ..data/ports.json, ..data -> ..2026_11_23_...; an update swaps ..data.
        let directory = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let manager = FileManager.default
        func version(_ name: String, _ text: String) throws {
            let folder = directory.appendingPathComponent(name)
            try manager.createDirectory(at: folder, withIntermediateDirectories: true)
            try text.write(to: folder.appendingPathComponent("ports.json"), atomically: false, encoding: .utf8)
            let link = directory.appendingPathComponent("..data_tmp")
            try? manager.removeItem(at: link)
            try manager.createSymbolicLink(atPath: link.path, withDestinationPath: name)
            _ = rename(link.path, directory.appendingPathComponent("..data").path)
        }
        try version("..v1", Self.twoPorts)
        try manager.createSymbolicLink(
            atPath: directory.appendingPathComponent("ports.json").path, withDestinationPath: "..data/ports.json")
        try await TestServer.with({
            $0.portsFile = directory.appendingPathComponent("ports.json").path
            $0.portsPollInterval = .milliseconds(100)
        }) { server in
            #expect(try server.metrics().value("keyport_ports") == 2)
            try version("..v2", Self.threePorts)
            try await waitUntil { try server.metrics().value("keyport_ports") == 3 }
        }
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: TestPaths.sharedPorts) || ProcessInfo.processInfo.environment["CI"] != nil))
    func theRealFileIsServedInFull() async throws {
        try await TestServer.with({ $0.portsFile = TestPaths.sharedPorts }) { server in
            #expect(try server.metrics().value("keyport_ports") == 1632)
            var seen: [String] = []
            var cursor: String?
            repeat {
                let query = "/ports?limit=257" + (cursor.map { "&after=" + $0 } ?? "")
                let page = try server.get(query).json()
                seen += (page["ports"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
                cursor = page["next"] as? String
            } while cursor != nil
            #expect(seen.count == 1632)
            #expect(seen == seen.sorted())
            #expect(Set(seen).count == 1632)
            // An id listed only in another record's unlocs finds that record.
            let dalian = try server.get("/ports/CNDAL").json()
            #expect((dalian["unlocs"] as? [String])?.contains("CNDAL") == true)
            let thai = try server.get("/ports/THMAT").json()
            #expect(thai["province"] as? String == "จังหวัด กรุงเทพมหานคร")
        }
    }
}
