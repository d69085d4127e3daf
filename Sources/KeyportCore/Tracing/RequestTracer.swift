import Logging
import NIOCore
import NIOHTTP1
import Tracing

/// Starts one server span per request with the HTTP semantic-convention attributes, continuing the
/// caller's trace from `traceparent`/`tracestate`. The connection handler holds an optional one: with
/// tracing off it is `nil` and a request pays a nil check here and one where its span would end.
public struct RequestTracer: Sendable {
    let tracer: any Tracer
    let logger: Logger
    /// `url.scheme`: what the listener speaks (`https` with TLS on).
    let scheme: String

    public init(tracer: any Tracer, logger: Logger, scheme: String = "http") {
        self.tracer = tracer
        self.logger = logger
        self.scheme = scheme
    }

    /// Call once the request is routed, before its handler runs; end the span when its response is written.
    /// `localAddress` is the TCP connection's own (under TLS too): `server.address`/`server.port`.
    func start(_ head: HTTPRequestHead, route: String, localAddress: SocketAddress?) -> ServerSpan {
        // Explicit context from the headers: handlers run on event loops, not in tasks with task-locals.
        var parent = InstrumentationContext.topLevel
        tracer.extract(head.headers, into: &parent, using: HTTPHeadersExtractor())
        let label = KeyportMetrics.methodLabel(head.method)
        let method = label == "OTHER" ? "_OTHER" : label
        let matched = route != Router.unmatchedRoute
        let span = tracer.startSpan(matched ? "\(method) \(route)" : method, context: parent, ofKind: .server)
        if span.isRecording {
            var attributes = SpanAttributes()
            attributes["http.request.method"] = method
            if method == "_OTHER" { attributes["http.request.method_original"] = head.method.rawValue }
            if matched { attributes["http.route"] = route }
            let uri = head.uri
            attributes["url.path"] = String(uri[..<(uri.firstIndex(of: "?") ?? uri.endIndex)])
            attributes["url.scheme"] = scheme
            attributes["network.protocol.version"] = "\(head.version.major).\(head.version.minor)"
            if let address = localAddress?.ipAddress { attributes["server.address"] = address }
            if let port = localAddress?.port { attributes["server.port"] = port }
            span.attributes = attributes
        }
        return ServerSpan(span: span, logger: logger, method: head.method.rawValue, route: route)
    }
}
