import KeyportCore
import KeyportPorts
import Logging
import MallocInterposerSwift
import NIOCore
import NIOEmbedded
import NIOHTTP1

// Requests go through the server's own per-connection pipeline (decoder, connection handler, router,
// endpoints, metrics) on an EmbeddedChannel, and the interposer counts every malloc while they run.
// Needs the interposer preloaded: LD_PRELOAD=<bin>/libMallocInterposerSwift.so (Benchmarks/http/run.sh).
// An EmbeddedChannel keeps every written buffer until it is read, so the handler's reuse of its response
// buffer shows here as 2 allocations per request that a socket, which takes the bytes at once, does not make.
// KEYPORT_TIMING=1 adds nanoseconds per request in process against a bare handler (see below).
//   KeyportAllocations [PORTS_FILE]

let iterations = 20_000
let application = KeyportApplication(configuration: Configuration(), logger: Logger(label: "bench") { _ in SwiftLogNoOpLogHandler() })
if let path = CommandLine.arguments.dropFirst().first {
    application.ports.replace(with: try PortsFileLoader.load(path: path))
}

/// Mallocs per request for `target`, after a warm-up that fills the caches (metric handles, buffers).
func allocationsPerRequest(_ target: String) throws -> Double {
    let channel = EmbeddedChannel()
    try HTTPServer.configureConnection(
        channel, router: application.makeRouter(for: .service), metrics: application.metrics,
        idleTimeout: .seconds(60), requestTimeout: .seconds(30))
    try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
    let request = ByteBuffer(string: "GET \(target) HTTP/1.1\r\nHost: 127.0.0.1:1123\r\n\r\n")
    var answered = 0
    func exchange() throws {
        try channel.writeInbound(request)
        while let response = try channel.readOutbound(as: ByteBuffer.self) {
            precondition(response.readableBytes > 0)
            answered += 1
        }
    }
    for _ in 0..<1_000 { try exchange() }
    answered = 0
    MallocInterposerSwift.initialize()
    MallocInterposerSwift.reset()
    MallocInterposerSwift.hook()
    for _ in 0..<iterations { try exchange() }
    MallocInterposerSwift.unhook()
    let statistics = MallocInterposerSwift.getStatistics()
    precondition(answered >= iterations, "only \(answered) responses")
    _ = try channel.finish()
    return Double(statistics.mallocCount) / Double(iterations)
}

for target in ["/key/32", "/ports/AEAJM", "/health"] {
    let perRequest = try allocationsPerRequest(target)
    let rounded = (perRequest * 100).rounded() / 100
    print("allocations per GET \(target): \(rounded)")
}

// Time per request in process (no sockets, so no kernel time): keyport's pipeline against the bare
// handler of ../shared/perf/niospike on the same EmbeddedChannel. Only the ratio means anything.
final class BareKeyHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = ByteBuffer
    static let head = Array("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nCache-Control: no-store\r\nContent-Length: 32\r\n\r\n".utf8)
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .end = unwrapInboundIn(data) else { return }
        var buffer = context.channel.allocator.buffer(capacity: Self.head.count + 32)
        buffer.writeBytes(Self.head)
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 32) { pointer in
            KeyEndpoint.fillRandom(UnsafeMutableRawBufferPointer(rebasing: pointer[..<32]))
            return 32
        }
        context.write(wrapOutboundOut(buffer), promise: nil)
    }
    func channelReadComplete(context: ChannelHandlerContext) { context.flush() }
}

func nanosecondsPerRequest(_ target: String, bare: Bool = false) throws -> Double {
    let channel = EmbeddedChannel()
    if bare {
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes)))
        try channel.pipeline.syncOperations.addHandler(BareKeyHandler())
    } else {
        try HTTPServer.configureConnection(
            channel, router: application.makeRouter(for: .service), metrics: application.metrics,
            idleTimeout: .seconds(60), requestTimeout: .seconds(30))
    }
    try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
    let request = ByteBuffer(string: "GET \(target) HTTP/1.1\r\nHost: 127.0.0.1:1123\r\n\r\n")
    func exchange() throws {
        try channel.writeInbound(request)
        while try channel.readOutbound(as: ByteBuffer.self) != nil {}
    }
    for _ in 0..<10_000 { try exchange() }
    let count = 200_000
    let start = ContinuousClock.now
    for _ in 0..<count { try exchange() }
    let elapsed = ContinuousClock.now - start
    _ = try channel.finish()
    return Double(elapsed.components.attoseconds / 1_000_000_000 + elapsed.components.seconds * 1_000_000_000) / Double(count)
}

// Alternating rounds; the bare handler is the floor, so a rise in keyport's ratio is keyport's own cost.
if ProcessEnvironment.value("KEYPORT_TIMING") != nil {
    for round in 1...5 {
        let bare = try nanosecondsPerRequest("/key/32", bare: true)
        let keyport = try nanosecondsPerRequest("/key/32", bare: false)
        let ports = try nanosecondsPerRequest("/ports/AEAJM")
        print("round \(round): GET /key/32 in process: keyport \(Int(keyport)) ns, bare handler \(Int(bare)) ns, ratio \((keyport / bare * 100).rounded() / 100); /ports/AEAJM \(Int(ports)) ns")
    }
}
