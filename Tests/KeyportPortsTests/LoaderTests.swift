import Foundation
import Testing

@testable import KeyportPorts

/// Files: streamed from disk, I/O errors reported like parse errors, line and column computed on failure.
struct LoaderTests {
    private func temporaryFile(_ content: [UInt8]) throws -> String {
        let path = NSTemporaryDirectory() + "keyport-ports-\(UUID().uuidString).json"
        try Data(content).write(to: URL(fileURLWithPath: path))
        return path
    }

    private func loadError(_ path: String) -> PortsLoadError? {
        do throws(PortsLoadError) {
            _ = try PortsFileLoader.load(path: path)
            return nil
        } catch {
            return error
        }
    }

    @Test func loadsAFile() throws {
        let path = try temporaryFile(bytes("{\n  \"A\": \(body("a")),\n  \"B\": \(body("b"))\n}\n"))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let snapshot = try PortsFileLoader.load(path: path, options: PortsParseOptions(chunkSize: 16))
        #expect(snapshot.page(after: nil, limit: 10, country: nil).ids == ["A", "B"])
        #expect(snapshot.statistics.bytesRead == FileManager.default.contents(atPath: path)!.count)
    }

    @Test func missingFile() throws {
        let error = try #require(loadError("/nonexistent/ports.json"))
        #expect(error.kind == .io)
        #expect(error.offset == nil)
        #expect(error.description == "/nonexistent/ports.json: cannot open: No such file or directory")
    }

    @Test func directory() throws {
        let error = try #require(loadError(NSTemporaryDirectory()))
        #expect(error.kind == .io)
        #expect(error.message == "cannot read: is a directory, expected a JSON file")
    }

    @Test func errorsInAFileHaveLineAndColumn() throws {
        let text = "{\n  \"AEAJM\": \(body()),\n  \"AEAUH\": {\n    \"name\": \"Abu Z¸aby\",\n    \"city\" 7\n  }\n}\n"
        let path = try temporaryFile(bytes(text))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let error = try #require(loadError(path))
        let offset = try #require(error.offset)
        #expect(Array(bytes(text)[offset...].prefix(1)) == bytes("7"))
        #expect(error.line == 5)
        #expect(error.column == 12)
        #expect(error.recordID == "AEAUH")
        #expect(error.description == "\(path): byte \(offset) (line 5, column 12): expected ':' after field \"city\" in record \"AEAUH\", found a number")
    }

    /// A truncated file is a syntax error at its end, not a smaller snapshot; once fixed, it loads.
    /// (That a failed reload keeps the previous data serving is the server's job: PortsServerTests.)
    @Test func aTruncatedFileFailsAndLoadsOnceFixed() throws {
        let complete = bytes("{\"A\": \(body("v1"))}")
        let path = try temporaryFile(Array(complete.dropLast()))
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            let snapshot = try PortsFileLoader.load(path: path)
            Issue.record("a truncated file must not load, got \(snapshot.count) records")
        } catch {
            #expect(error.kind == .syntax)
            #expect(error.offset == complete.count - 1)
        }
        try Data(complete).write(to: URL(fileURLWithPath: path))
        #expect(try PortsFileLoader.load(path: path).record(id: "A")?.name == "v1")
    }

    /// The bundled sample (Sources/KeyportCore/Resources/sample-ports.json) is valid and shows each feature.
    @Test func bundledSampleLoads() throws {
        let here = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
        let repository = here.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let path = repository.appendingPathComponent("Sources/KeyportCore/Resources/sample-ports.json").path
        let snapshot = try PortsFileLoader.load(path: path)
        #expect(snapshot.count >= 10)
        let records = allRecords(snapshot)
        #expect(records.contains { $0.coordinates == nil })
        #expect(records.contains { $0.alias.count > 0 })
        #expect(records.contains { record in record.unlocs.contains { $0 != record.id } })
        #expect(records.contains { $0.name.unicodeScalars.contains { !$0.isASCII } })
        #expect(records.contains { $0.coordinates?.contains { !$0.contains(".") } == true })
        #expect(records.contains { $0.timezone == nil || $0.province == nil || $0.code == nil })
    }
}
