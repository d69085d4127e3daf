import NIOCore
import NIOHTTP1

/// Turns each aggregated request into a response through the router, writes it and records metrics.
/// A ChannelHandler is bound to its channel's event loop, which is why it is not `Sendable`.
final class HTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOHTTPServerRequestFull
    typealias OutboundOut = HTTPServerResponsePart

    private let router: Router
    private let metrics: KeyportMetrics?
    private let tracer: RequestTracer?

    init(router: Router, metrics: KeyportMetrics?, tracer: RequestTracer? = nil) {
        self.router = router
        self.metrics = metrics
        self.tracer = tracer
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let full = unwrapInboundIn(data)
        let start = ContinuousClock.now
        context.triggerUserOutboundEvent(RequestTimeoutHandler.RequestReceived(), promise: nil)
        let request = Request(method: full.head.method, uri: full.head.uri, headers: full.head.headers, body: full.body)
        let match = router.match(request)
        // Tracing hook 1 of 2: the server span starts as the request arrives (off: a nil check, nothing built).
        let span = tracer?.start(full.head, route: match.template, localAddress: context.channel.localAddress)
        let reply: Reply
        if let handler = match.handler {
            do {
                reply = try handler(request, RouteContext(parameter: match.parameter, eventLoop: context.eventLoop))
            } catch {
                reply = .now(error.response)
            }
        } else {
            reply = .now((match.error ?? HTTPError(.notFound, "not found")).response)
        }
        let head = full.head
        switch reply {
        case .now(let response):
            write(response, for: head, route: match.template, start: start, span: span, context: context)
        case .later(let future):
            let route = match.template
            let boundSelf = NIOLoopBound(self, eventLoop: context.eventLoop)
            let boundContext = NIOLoopBound(context, eventLoop: context.eventLoop)
            future.hop(to: context.eventLoop).whenComplete { result in
                let response: Response
                switch result {
                case .success(let value): response = value
                case .failure: response = HTTPError(.internalServerError, "internal error").response
                }
                boundSelf.value.write(response, for: head, route: route, start: start, span: span, context: boundContext.value)
            }
        }
    }

    private func write(
        _ response: Response, for request: HTTPRequestHead, route: String, start: ContinuousClock.Instant,
        span: ServerSpan?, context: ChannelHandlerContext
    ) {
        // NIO's encoder sends a response to CONNECT without a body or length, so only closing frames it.
        let keepAlive = request.isKeepAlive && request.method != .CONNECT
        context.write(wrapOutboundOut(.head(response.head(version: request.version, keepAlive: keepAlive))), promise: nil)
        if request.method != .HEAD, response.body.readableBytes > 0 {
            context.write(wrapOutboundOut(.body(.byteBuffer(response.body))), promise: nil)
        }
        context.triggerUserOutboundEvent(RequestTimeoutHandler.ResponseWritten(), promise: nil)
        if keepAlive {
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        } else {
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
        }
        metrics?.recordRequest(method: request.method, route: route, status: response.status, duration: start.duration(to: .now))
        // Tracing hook 2 of 2: the span ends once its response is written.
        span?.end(status: response.status)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            // Nothing arrived for the idle timeout: free the connection (slow or abandoned clients).
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}
