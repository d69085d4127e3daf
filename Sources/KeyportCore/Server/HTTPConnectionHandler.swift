import NIOCore
import NIOHTTP1

/// The one handler that owns an HTTP/1 connection's life, behind NIO's request decoder: it turns NIO's
/// events into transitions of the connection's `HTTPConnectionState` and performs the actions they
/// return (route a request, write a response, flush, read, close, arm the timer). Requests become
/// responses through the router (`respond(to:match:context:)`), each written as one buffer. One handler,
/// not a chain of handlers signalling each other with per-request events: those events cost throughput
/// on every request and scatter one flow over several types.
/// A ChannelHandler is bound to its channel's event loop, which is why it is not `Sendable`.
final class HTTPConnectionHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    typealias Limits = HTTPConnectionState.Limits
    typealias Exchange = HTTPConnectionState.Exchange

    let router: Router
    let metrics: KeyportMetrics?
    /// Starts a server span per routed request; `nil` with tracing off.
    let tracer: RequestTracer?

    /// Requests, responses owed, reading, closing and timeouts: every protocol decision is made there.
    var state: HTTPConnectionState
    /// Responses of the current read are gathered here and flushed once the read completes.
    var outbound: ByteBuffer
    /// A response body was written straight to the channel and awaits the flush.
    var unflushed = false
    /// The connection's one timer, armed at the deadline the state asks for.
    var timer: Scheduled<Void>?
    /// Counter and histogram handles this connection already resolved, by route, method and status.
    var metricHandles: [(key: Int, handles: KeyportMetrics.RequestHandles)] = []

    init(router: Router, metrics: KeyportMetrics?, limits: Limits, tracer: RequestTracer? = nil, allocator: ByteBufferAllocator) {
        self.router = router
        self.metrics = metrics
        self.tracer = tracer
        self.state = HTTPConnectionState(limits: limits)
        self.outbound = allocator.buffer(capacity: 512)
    }

    /// Carries out what a transition of `state` asked for. Inlined, so that on the hot path a transition
    /// that returns `.none` costs no switch.
    @inline(__always)
    func perform(_ action: HTTPConnectionState.Action, context: ChannelHandlerContext) {
        switch action {
        case .none:
            break
        case .sendContinue:
            outbound.writeStaticString("HTTP/1.1 100 Continue\r\n\r\n")
        case .answer(let requestHead, let body):
            answer(requestHead, body: body, context: context)
        case .write(let response, let exchange):
            write(response, for: exchange, context: context)
        case .read:
            context.read()
        case .close:
            context.close(promise: nil)
        case .scheduleTimer(let deadline):
            scheduleTimer(at: deadline, context: context)
        }
    }

    // MARK: inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let action: HTTPConnectionState.Action
        switch unwrapInboundIn(data) {
        case .head(let requestHead): action = state.requestHead(requestHead)
        case .body(let part): action = state.bodyPart(part)
        case .end: action = state.requestEnd(isWritable: context.channel.isWritable)
        }
        perform(action, context: context)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        perform(state.readComplete(now: context.eventLoop.now), context: context)
        flush(context: context)
        context.fireChannelReadComplete()
    }

    /// A complete request: route it, then write its response now or in line behind earlier ones.
    func answer(_ requestHead: HTTPRequestHead, body: ByteBuffer?, context: ChannelHandlerContext) {
        let request = Request(method: requestHead.method, uri: requestHead.uri, headers: requestHead.headers, body: body)
        let match = router.match(request)
        let keepAlive = state.answering(requestHead)
        // The server span starts once the request is routed and ends when its response is written (`write`);
        // with tracing off a request pays this nil check and that one, nothing else.
        let span = tracer?.start(requestHead, route: match.template, localAddress: context.channel.localAddress)
        let exchange = Exchange(
            method: requestHead.method, version: requestHead.version, keepAlive: keepAlive,
            routeIndex: match.routeIndex, route: match.template, received: context.eventLoop.now, span: span)
        switch respond(to: request, match: match, context: context) {
        case .now(let response):
            deliver(response, for: exchange, context: context)
        case .later(let future):
            let sequence = state.awaitResponse(for: exchange)
            let boundSelf = NIOLoopBound(self, eventLoop: context.eventLoop)
            let boundContext = NIOLoopBound(context, eventLoop: context.eventLoop)
            future.hop(to: context.eventLoop).whenComplete { result in
                let response: Response
                switch result {
                case .success(let value): response = value
                case .failure: response = HTTPError(.internalServerError, "internal error").response
                }
                boundSelf.value.completed(sequence, with: response, context: boundContext.value)
            }
        }
    }

    /// Where a request becomes a response: the router's handler, or the routing error.
    func respond(to request: Request, match: Router.Match, context: ChannelHandlerContext) -> Reply {
        guard let handler = match.handler else {
            return .now((match.error ?? HTTPError(.notFound, "not found")).response)
        }
        do {
            return try handler(request, RouteContext(parameter: match.parameter, eventLoop: context.eventLoop))
        } catch {
            return .now(error.response)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        perform(state.errorCaught(error), context: context)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is ChannelShouldQuiesceEvent else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        perform(state.quiesce(), context: context)
    }

    // MARK: outbound

    /// Holds reads while requests wait to be answered, or once the connection is closing.
    func read(context: ChannelHandlerContext) {
        perform(state.readRequested(isWritable: context.channel.isWritable), context: context)
    }

    // MARK: lifecycle

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { perform(state.activated(now: context.eventLoop.now), context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        perform(state.activated(now: context.eventLoop.now), context: context)
        context.fireChannelActive()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { answerDeferred(context: context) }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancelTimer()
        abandon(state.closed())
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancelTimer()
    }
}
