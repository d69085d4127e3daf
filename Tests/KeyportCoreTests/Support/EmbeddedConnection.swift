import InMemoryTracing
@testable import KeyportCore
import Logging
import NIOCore
import NIOEmbedded

/// A channel with keyport's per-connection pipeline (virtual time) and a router whose `/later` answers
/// when the test says; with `traced`, an in-memory tracer records the server spans.
final class EmbeddedConnection {
    let channel = EmbeddedChannel()
    let metrics = KeyportMetrics(maxKeySize: 1024)
    let tracer = InMemoryTracer()
    /// The promises of `/later` requests, in arrival order.
    let later: NIOLoopBoundBox<[EventLoopPromise<Response>]>

    init(
        idleTimeout: TimeAmount = .seconds(60), requestTimeout: TimeAmount = .seconds(30),
        traced: Bool = false, scheme: String = "http"
    ) throws {
        var router = Router()
        let loop = channel.embeddedEventLoop
        let later = NIOLoopBoundBox([EventLoopPromise<Response>](), eventLoop: loop)
        self.later = later
        router.get("/now/{text}") { _, context in .now(.text(.ok, String(context.parameter))) }
        router.get("/later") { _, _ in
            let promise = loop.makePromise(of: Response.self)
            later.value.append(promise)
            return .later(promise.futureResult)
        }
        router.get("/fail") { _, _ in .now(.text(.serviceUnavailable, "no")) }
        router.post("/echo") { request, _ in .now(Response(status: .ok, contentType: "text/plain", body: .buffer(request.body ?? ByteBuffer()))) }
        router.post("/empty") { _, _ in .now(.noContent) }
        let requestTracer = traced
            ? RequestTracer(tracer: tracer, logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }, scheme: scheme) : nil
        try HTTPServer.configureConnection(
            channel, router: router, metrics: metrics,
            limits: .init(idleTimeout: idleTimeout, requestTimeout: requestTimeout, maxBodyBytes: 64), tracer: requestTracer)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
    }

    func send(_ text: String) throws {
        try channel.writeInbound(ByteBuffer(string: text))
    }

    /// Everything written so far, as text.
    func written() throws -> String {
        var text = ""
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) { text += String(buffer: buffer) }
        return text
    }

    func exposition() -> String { String(decoding: metrics.exposition(), as: UTF8.self) }

    var finished: [FinishedInMemorySpan] { tracer.finishedSpans }
}
