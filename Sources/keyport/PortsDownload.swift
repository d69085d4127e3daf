import AsyncHTTPClient
import Crypto
import KeyportCore
import KeyportPorts
import NIOCore
import NIOPosix
import NIOSSL
import SystemLibC

/// One `keyport ports fetch`: the body goes to a temporary file beside the output, through SHA-256 and into the
/// server's streaming parser as it arrives (one pass, so memory is the parser's, never the file); the file is
/// renamed into place only when the answer was 2xx, the body complete, the digest right and the parse clean.
///
/// AsyncHTTPClient rather than `HealthCheck`'s small client: a download needs redirects, streamed bodies with
/// back-pressure, chunked encoding and length checks, which it does well and which the binary already links
/// (swift-otel's OTLP/HTTP exporter). SHA-256 comes from swift-crypto, the maintained Swift API over BoringSSL;
/// NIOSSL's BoringSSL copy is internal to it.
struct PortsDownload {
    let options: PortsFetchOptions

    /// `--timeout` in NIO's unit.
    private var timeoutAmount: TimeAmount { .nanoseconds(Int64(options.timeout.seconds * 1e9)) }

    /// What a successful fetch got.
    struct Outcome {
        /// Bytes as served (compressed bytes for a gzip file).
        var bytes: Int
        var statistics: PortsLoadStatistics
        var sha256: String
    }

    /// Why a fetch failed; `description` is the one line printed after `keyport ports fetch: `.
    enum Failure: Error, CustomStringConvertible {
        case status(UInt, String)
        case declaredTooLarge(Int, limit: Int)
        case tooLarge(limit: Int)
        case truncated(got: Int, of: Int, reason: String)
        case transfer(String)
        case timeout(Duration)
        case digest(expected: String, got: String)
        case parse(PortsLoadError)
        case file(String)

        var description: String {
            switch self {
            case .status(let code, let reason): "the server answered HTTP \(code) \(reason), expected 2xx"
            case .declaredTooLarge(let length, let limit):
                "the body is \(length) bytes (Content-Length), over --max-bytes \(limit)"
            case .tooLarge(let limit): "the body passed --max-bytes \(limit) bytes; stopped"
            case .truncated(let got, let total, let reason): "the body ended early: got \(got) of \(total) bytes (\(reason))"
            case .transfer(let reason): reason
            case .timeout(let limit): "timed out: the download took longer than --timeout \(Self.text(limit))"
            case .digest(let expected, let got): "SHA-256 mismatch: expected \(expected), got \(got)"
            case .parse(let error): Self.parseText(error)
            case .file(let reason): reason
            }
        }

        /// `5m`, `90s` or `1500ms`, as `--timeout` is written.
        private static func text(_ duration: Duration) -> String {
            let milliseconds = Int(duration.seconds * 1000)
            if milliseconds % 60_000 == 0 { return "\(milliseconds / 60_000)m" }
            return milliseconds % 1000 == 0 ? "\(milliseconds / 1000)s" : "\(milliseconds)ms"
        }

        /// The parser's message, naming the record when the message does not already.
        private static func parseText(_ error: PortsLoadError) -> String {
            let record = error.recordID.map { id in error.message.contains("\"\(id)\"") ? "" : " (record \"\(id)\")" } ?? ""
            // The URL starts the command's line already.
            let located = error.description.hasPrefix(error.source + ": ") ? String(error.description.dropFirst(error.source.count + 2)) : error.description
            return "not a valid ports file: \(located)\(record)"
        }
    }

    /// Downloads, checks and renames into place; `progress` is made once the length is known (or known unknown).
    func run(progress makeProgress: @escaping @Sendable (Int?) -> ProgressLine) async throws(Failure) -> Outcome {
        let file = try TemporaryFile(beside: options.output)
        let outcome: Outcome
        do {
            outcome = try await withDeadline { () async throws(Failure) -> Outcome in
                try await transfer(into: file, progress: makeProgress)
            }
        } catch {
            file.discard()
            throw error
        }
        try file.commit()
        return outcome
    }

    /// `body` within `options.timeout`; past it the body's task is cancelled (AsyncHTTPClient closes the connection
    /// and the pipe lets the parser go) and awaited, so nothing is left running.
    private func withDeadline(_ body: @escaping @Sendable () async throws(Failure) -> Outcome) async throws(Failure) -> Outcome {
        let timeout = options.timeout
        let result = await withTaskGroup(of: Result<Outcome, Failure>?.self) { group in
            group.addTask {
                do throws(Failure) { return .success(try await body()) } catch { return .failure(error) }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            return await group.next() ?? nil
        }
        guard let result else { throw .timeout(timeout) }
        return try result.get()
    }

    private func transfer(into file: TemporaryFile, progress makeProgress: (Int?) -> ProgressLine) async throws(Failure) -> Outcome {
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .follow(max: 5, allowCycles: false),
            timeout: .init(connect: timeoutAmount))
        // One attempt: a failed connection or TLS handshake is reported at once (not retried until the deadline);
        // retrying is the caller's (an init container is restarted with back-off).
        configuration.connectionPool.retryConnectionEstablishment = false
        // Always: an http:// URL may redirect to https://, which gets the same trust.
        do throws(HealthCheck.Failure) {
            configuration.tlsConfiguration = try HealthCheck.clientConfiguration(
                HealthCheck.TLSOptions(caFile: options.caFile, insecure: options.insecure))
        } catch {
            throw .file("\(error)")
        }
        let client = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: configuration)
        let pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        let result: Result<Outcome, Failure>
        do throws(Failure) {
            result = .success(try await transfer(client: client, pool: pool, into: file, progress: makeProgress))
        } catch {
            result = .failure(error)
        }
        // Both only wait for work that has finished or been cancelled by now.
        try? await client.shutdown()
        try? await pool.shutdownGracefully()
        return try result.get()
    }

    private func transfer(
        client: HTTPClient, pool: NIOThreadPool, into file: TemporaryFile, progress makeProgress: (Int?) -> ProgressLine
    ) async throws(Failure) -> Outcome {
        let started = ContinuousClock.now
        var request = HTTPClientRequest(url: options.url)
        request.headers.add(name: "User-Agent", value: "keyport-ports-fetch/\(BuildInfo.releaseVersion)")
        let response: HTTPClientResponse
        do {
            // The whole-download deadline is `withDeadline`'s; AsyncHTTPClient logs nothing unless given a logger.
            response = try await client.execute(request, deadline: .now() + timeoutAmount)
        } catch {
            throw Self.describe(error)
        }
        guard (200..<300).contains(response.status.code) else {
            throw .status(response.status.code, response.status.reasonPhrase)
        }
        let declared = response.headers.first(name: "content-length").flatMap { Int($0) }
        if let declared, declared > options.maxBytes { throw .declaredTooLarge(declared, limit: options.maxBytes) }

        let progress = makeProgress(declared)
        let pipe = ChunkPipe(sourceName: options.url)
        let url = options.url
        let copy = file.path
        // Progress every 256 KiB: a download is slower than a parse of a local file.
        let parseOptions = PortsParseOptions(progressInterval: 256 << 10)
        // Blocking parse on a thread of its own, pulling from the pipe as the body arrives.
        let parsing = pool.runIfActive(eventLoop: MultiThreadedEventLoopGroup.singleton.any()) {
            () -> Result<PortsLoadStatistics, PortsLoadError> in
            defer { pipe.closeReading() }
            do throws(PortsLoadError) {
                let snapshot = try PortsFileLoader.load(
                    streamNamed: url, copy: copy, options: parseOptions,
                    observer: { (current: PortsLoadProgress) throws(PortsLoadError) in
                        progress.show(current, elapsed: started.duration(to: .now))
                    },
                    pull: { (buffer) throws(PortsLoadError) -> Int in try pipe.read(into: buffer) })
                return .success(snapshot.statistics)
            } catch {
                return .failure(error)
            }
        }

        var hasher = SHA256()
        var received = 0
        do {
            for try await chunk in response.body {
                received += chunk.readableBytes
                guard received <= options.maxBytes else { throw Failure.tooLarge(limit: options.maxBytes) }
                try file.append(chunk)
                chunk.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
                // False once the parser stopped (on an error): the rest of the body is not needed.
                guard await pipe.write(chunk) else { break }
            }
        } catch {
            pipe.fail()
            _ = try? await parsing.get()
            progress.finish()
            if let failure = error as? Failure { throw failure }
            if let declared, received < declared {
                throw .truncated(got: received, of: declared, reason: Self.describe(error).description)
            }
            throw Self.describe(error)
        }
        pipe.finish()
        let parsed: Result<PortsLoadStatistics, PortsLoadError>
        do {
            parsed = try await parsing.get()
        } catch {
            throw .transfer("the parser did not run: \(error)")
        }
        progress.finish()
        let statistics: PortsLoadStatistics
        switch parsed {
        case .success(let value): statistics = value
        case .failure(let error): throw .parse(error)
        }
        if let declared, received < declared {
            throw .truncated(got: received, of: declared, reason: "the connection closed")
        }
        let digest = Self.hex(hasher.finalize())
        guard digest == options.sha256 else { throw .digest(expected: options.sha256, got: digest) }
        return Outcome(bytes: received, statistics: statistics, sha256: digest)
    }

    /// One line for a transport error: what AsyncHTTPClient or NIO reports, in words.
    private static func describe(_ error: any Error) -> Failure {
        if error is CancellationError { return .transfer("cancelled") }
        if let client = error as? HTTPClientError {
            switch client {
            case .connectTimeout: return .transfer("connection timed out")
            case .remoteConnectionClosed: return .transfer("the server closed the connection")
            case .redirectLimitReached: return .transfer("more than 5 redirects")
            case .redirectCycleDetected: return .transfer("the redirects go round in a cycle")
            default: return .transfer("\(client)")
            }
        }
        if let io = error as? IOError { return .transfer("cannot connect: \(String(cString: strerror(io.errnoCode)))") }
        if let tls = error as? NIOSSLError { return .transfer("TLS handshake failed: \(tls)") }
        return .transfer("\(error)")
    }

    private static func hex(_ digest: SHA256.Digest) -> String {
        digest.withUnsafeBytes { bytes in
            String(unsafeUninitializedCapacity: bytes.count * 2) { text in
                ASCIIHex.encode(bytes, into: UnsafeMutableRawBufferPointer(text))
                return bytes.count * 2
            }
        }
    }
}
