import KeyportCore
import KeyportPorts
import Logging
import MallocInterposerSwift
import NIOCore
import NIOEmbedded

// Requests go through the server's own per-connection pipeline (decoder, connection handler, router,
// endpoints, metrics) on an EmbeddedChannel, and the interposer counts every malloc while they run.
// Needs the interposer preloaded: LD_PRELOAD=<bin>/libMallocInterposerSwift.so (Benchmarks/run.sh).
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
        channel, router: application.makeRouter(), metrics: application.metrics,
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
