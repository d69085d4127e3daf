import Foundation
import KeyportPorts
import NIOCore
import NIOPosix
import Testing

@testable import KeyportCore

/// `keyport ports fetch`'s pieces without a network: its arguments, and the pipe that hands a download's
/// chunks to the parser on its own thread (the download itself: ops-tests/test_ports_fetch.py).
@Suite struct PortsFetchTests {
    private let digest = String(repeating: "ab", count: 32)

    @Test func argumentsAreCheckedWithOneLineNamingTheFlag() throws {
        let options = try PortsFetchOptions(
            url: "https://data.example.com/ports.json.gz", sha256: digest.uppercased(), output: "/data/ports.json.gz",
            maxBytes: "512Mi", timeout: "90s")
        #expect(options.sha256 == digest)
        #expect(options.maxBytes == 512 << 20)
        #expect(options.timeout == .seconds(90))
        let defaults = try PortsFetchOptions(url: "http://h/p", sha256: digest, output: "p")
        #expect(defaults.maxBytes == 2 << 30)
        #expect(defaults.timeout == .seconds(300))

        func failure(
            url: String = "http://h/p", sha256: String? = nil, output: String = "p", maxBytes: String = "1", timeout: String = "1s",
            caFile: String? = nil, insecure: Bool = false
        ) -> String? {
            do throws(PortsFetchOptions.UsageError) {
                _ = try PortsFetchOptions(
                    url: url, sha256: sha256 ?? digest, output: output, maxBytes: maxBytes, timeout: timeout, caFile: caFile,
                    insecure: insecure)
                return nil
            } catch {
                return error.description
            }
        }
        #expect(failure() == nil)
        #expect(failure(url: "ftp://h/p") == "invalid value \"ftp://h/p\" for URL: expected an http:// or https:// URL such as https://example.com/ports.json.gz")
        #expect(failure(url: "http://") != nil)
        #expect(failure(sha256: String(digest.dropLast())) == "invalid value \"\(digest.dropLast())\" for --sha256: expected 64 hex digits, as `sha256sum FILE` prints them")
        #expect(failure(sha256: String(digest.dropLast()) + "g") != nil)
        #expect(failure(output: "") != nil)
        #expect(failure(output: "/data/") != nil)
        #expect(failure(maxBytes: "0") == "invalid value \"0\" for --max-bytes: expected a positive byte count such as 500000000, 512Mi or 2Gi")
        #expect(failure(timeout: "5") == "invalid value \"5\" for --timeout: expected a duration such as 90s, 5m or 1h")
        #expect(failure(timeout: "0") != nil)
        #expect(failure(caFile: "ca.pem", insecure: true) != nil)
    }

    @Test func byteCountsTakeKubernetesSuffixes() {
        let cases: [(String, Int?)] = [
            ("0", 0), ("1500", 1500), ("2k", 2000), ("3M", 3_000_000), ("1G", 1_000_000_000), ("1Ki", 1024),
            ("512Mi", 512 << 20), ("2Gi", 2 << 30), ("", nil), ("Mi", nil), ("1.5Gi", nil), ("-1", nil), ("1mi", nil),
            ("1 Mi", nil), ("1MB", nil), ("9999999999999999Gi", nil),
        ]
        for (text, expected) in cases {
            #expect(PortsFetchOptions.parseByteCount(text) == expected, "\(text)")
        }
    }

    /// Parses what `pipe` delivers on a thread of `pool`, as the command does; the result is the statistics or the error.
    private func parse(_ pipe: ChunkPipe, on pool: NIOThreadPool) -> EventLoopFuture<Result<PortsLoadStatistics, PortsLoadError>> {
        pool.runIfActive(eventLoop: MultiThreadedEventLoopGroup.singleton.any()) {
            defer { pipe.closeReading() }
            do throws(PortsLoadError) {
                let snapshot = try PortsFileLoader.load(streamNamed: "test", pull: { (buffer) throws(PortsLoadError) -> Int in
                    try pipe.read(into: buffer)
                })
                return .success(snapshot.statistics)
            } catch {
                return .failure(error)
            }
        }
    }

    /// The writer runs ahead in an async task, the parser pulls on a thread pool: the parse sees every byte in
    /// order, chunk boundaries anywhere, while the writer waits whenever the capacity is queued.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: TestPaths.sharedPorts) || ProcessInfo.processInfo.environment["CI"] != nil))
    func thePipeFeedsTheParserAsChunksArrive() async throws {
        let file = try [UInt8](Data(contentsOf: URL(fileURLWithPath: TestPaths.sharedPorts)))
        let pipe = ChunkPipe(sourceName: "test", capacity: 16 << 10)
        let pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        let parsing = parse(pipe, on: pool)
        var offset = 0
        var size = 1
        while offset < file.count {
            let end = min(file.count, offset + size)
            #expect(await pipe.write(ByteBuffer(bytes: file[offset..<end])))
            offset = end
            size = size * 3 % 9001 + 1  // uneven chunk sizes, 1 byte to 9 KB
        }
        pipe.finish()
        let statistics = try await parsing.get().get()
        try await pool.shutdownGracefully()
        #expect(statistics.records == 1632)
        #expect(statistics.bytesRead == file.count)
    }

    /// A parse error closes the reading side: the writer, waiting on a full pipe, learns it should stop.
    @Test func aParseErrorStopsTheWriter() async throws {
        let pipe = ChunkPipe(sourceName: "test", capacity: 1024)
        let pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        let parsing = parse(pipe, on: pool)
        var accepted = true
        var writes = 0
        while accepted && writes < 1000 {
            accepted = await pipe.write(ByteBuffer(string: writes == 0 ? "[" : String(repeating: " ", count: 4096)))
            writes += 1
        }
        #expect(!accepted)
        #expect(writes < 4)
        let result = try await parsing.get()
        try await pool.shutdownGracefully()
        guard case .failure(let error) = result else { Issue.record("an array parsed as ports"); return }
        #expect(error.offset == 0)
        #expect(error.kind == .schema)
    }

    /// A writer that fails (the download broke) makes the blocked reader throw rather than see a clean end.
    @Test func aFailedWriterMakesTheReaderThrow() async throws {
        let pipe = ChunkPipe(sourceName: "https://example.com/ports.json")
        let pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        let parsing = parse(pipe, on: pool)
        #expect(await pipe.write(ByteBuffer(string: "{\"A\": {\"name\": ")))
        try await Task.sleep(for: .milliseconds(50))  // the reader is blocked waiting for more by now
        pipe.fail()
        let result = try await parsing.get()
        try await pool.shutdownGracefully()
        guard case .failure(let error) = result else { Issue.record("a broken download parsed"); return }
        #expect(error.kind == .io)
        #expect(error.description == "https://example.com/ports.json: the download stopped")
    }
}
