import Foundation
import Testing

@testable import KeyportPorts

/// Input pulled as it arrives (`keyport ports fetch`): the same parse as a file whatever the pull sizes, gzip by
/// magic bytes, errors with offsets (line and column when a copy can be read again), and a failing pull ends it.
struct StreamLoadTests {
    /// A pull function handing out `input` at most `step` bytes at a time.
    private final class Puller {
        let input: [UInt8]
        let step: Int
        var position = 0
        var failAt: Int?

        init(_ input: [UInt8], step: Int, failAt: Int? = nil) {
            self.input = input
            self.step = step
            self.failAt = failAt
        }

        func pull(_ buffer: UnsafeMutableRawBufferPointer) throws(PortsLoadError) -> Int {
            if let failAt, position >= failAt {
                throw PortsLoadError(kind: .io, source: "pulled", offset: nil, message: "the download stopped")
            }
            let n = min(buffer.count, step, input.count - position)
            for i in 0..<n { buffer[i] = input[position + i] }
            position += n
            return n
        }
    }

    private func load(_ input: [UInt8], step: Int, copy: String? = nil, failAt: Int? = nil) throws(PortsLoadError) -> PortsSnapshot {
        let puller = Puller(input, step: step, failAt: failAt)
        return try PortsFileLoader.load(streamNamed: "pulled", copy: copy, pull: puller.pull)
    }

    @Test(arguments: [1, 2, 3, 4096, 1 << 20])
    func theRealFileParsesAsFromDiskWhateverThePullSize(step: Int) throws {
        try #require(RealPortsFile.shouldRun, RealPortsFile.skipNote)
        let fromDisk = try PortsFileLoader.load(path: RealPortsFile.path)
        let pulled = try load(Array(try Data(contentsOf: URL(fileURLWithPath: RealPortsFile.path))), step: step)
        #expect(pulled.statistics == fromDisk.statistics)
        #expect(pulled.statistics.records == 1632)
    }

    @Test func gzipIsRecognisedByItsMagicBytes() throws {
        let json = bytes("{\"A\": \(body("a")), \"B\": \(body("b"))}")
        let directory = NSTemporaryDirectory() + "keyport-stream-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Data(json).write(to: URL(fileURLWithPath: directory + "/ports.json"))
        let gzip = Process()
        gzip.executableURL = URL(fileURLWithPath: "/bin/gzip")
        gzip.arguments = ["-k", directory + "/ports.json"]
        try gzip.run()
        gzip.waitUntilExit()
        let compressed = Array(try Data(contentsOf: URL(fileURLWithPath: directory + "/ports.json.gz")))
        #expect(compressed.prefix(2) == [0x1F, 0x8B])
        for step in [1, 5, 1 << 16] {
            let snapshot = try load(compressed, step: step)
            #expect(snapshot.page(after: nil, limit: 10, country: nil).ids == ["A", "B"])
            #expect(snapshot.statistics.bytesRead == json.count)
        }
        let cut = Array(compressed.prefix(compressed.count - 6))
        #expect(throws: PortsLoadError.self) { try load(cut, step: 7) }
    }

    @Test func aBadDocumentFailsAtItsOffsetWithLineAndColumnFromTheCopy() throws {
        let text = "{\n  \"AEAJM\": \(body()),\n  \"AEAUH\": {\n    \"city\" 7\n  }\n}\n"
        let copy = NSTemporaryDirectory() + "keyport-stream-\(UUID().uuidString).json"
        try Data(bytes(text)).write(to: URL(fileURLWithPath: copy))
        defer { try? FileManager.default.removeItem(atPath: copy) }
        for (path, located) in [(nil, false), (copy, true)] as [(String?, Bool)] {
            do throws(PortsLoadError) {
                _ = try load(bytes(text), step: 3, copy: path)
                Issue.record("a bad document loaded")
            } catch {
                let offset = try #require(error.offset)
                #expect(Array(bytes(text)[offset...].prefix(1)) == bytes("7"))
                #expect(error.recordID == "AEAUH")
                #expect(error.line == (located ? 4 : nil))
                #expect(error.column == (located ? 12 : nil))
            }
        }
    }

    @Test func aFailingPullEndsTheLoadWithItsError() throws {
        let json = bytes("{\"A\": \(body("a")), \"B\": \(body("b"))}")
        do throws(PortsLoadError) {
            _ = try load(json, step: 4, failAt: 20)
            Issue.record("a stopped input loaded")
        } catch {
            #expect(error.kind == .io)
            #expect(error.message == "the download stopped")
        }
        #expect(throws: PortsLoadError.self) { try load([], step: 1) }
    }
}
