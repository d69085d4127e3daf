import NIOCore
import NIOHTTP1

/// The one handler that owns an HTTP/1 connection's life, behind NIO's request decoder: it collects each
/// request (capping its body), turns it into a response through the router (`respond(to:context:)`),
/// writes responses in request order as one buffer each, and owns the idle and request timeouts, the
/// JSON answers to protocol errors and quiescing on shutdown. One handler instead of a chain that
/// signals with per-request events: the chain cost a third of the throughput and hid the flow.
/// A ChannelHandler is bound to its channel's event loop, which is why it is not `Sendable`.
final class HTTPConnectionHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Per-connection limits, from the configuration.
    struct Limits: Sendable {
        var idleTimeout: TimeAmount
        var requestTimeout: TimeAmount
        var maxBodyBytes: Int
        /// Responses that may wait for an earlier one before the handler stops reading more requests.
        var maxQueuedResponses = 16
    }

    /// What the writer needs to know about the request a response answers.
    struct Exchange {
        var method: HTTPMethod
        var version: HTTPVersion
        var keepAlive: Bool
        /// Index of the matched route (the router's count for no match), for the metrics cache.
        var routeIndex: Int
        var route: String
        /// When the request was complete; `nil` for requests refused before routing (not timed).
        var received: NIODeadline?
        /// The request's server span; `nil` with tracing off and for requests refused before routing.
        var span: ServerSpan?
    }

    /// A request kept until the connection can take its response, or a refusal kept behind them.
    enum Deferred {
        case request(HTTPRequestHead, body: ByteBuffer?)
        case refusal(Response, Exchange)
    }

    /// A response waiting for an earlier one; `response` is `nil` until its off-loop work finished.
    struct QueuedResponse {
        var sequence: Int
        var exchange: Exchange
        var response: Response?
    }

    let router: Router
    let metrics: KeyportMetrics?
    let limits: Limits
    /// Starts a server span per routed request; `nil` with tracing off.
    let tracer: RequestTracer?

    /// The request being received.
    var head: HTTPRequestHead?
    var body: ByteBuffer?
    /// `true` once a response that closes the connection is decided: later input is ignored.
    var closing = false
    var quiescing = false

    /// Responses in request order behind one that is not ready yet; empty in the common case.
    var queue = CircularBuffer<QueuedResponse>()
    /// Complete requests (and refusals) not yet turned into responses, because the client is not reading
    /// what it was sent or too many responses wait: one read can hold hundreds of pipelined requests, and
    /// answering them all at once buffered a response each (400 MB for 400 pipelined 1 MiB keys).
    var deferred = CircularBuffer<Deferred>()
    var nextSequence = 0
    /// Responses of the current read are gathered here and flushed once the read completes.
    var outbound: ByteBuffer
    var inRead = false
    /// A response body was written straight to the channel and awaits the flush.
    var unflushed = false
    var readHeld = false

    /// When bytes last arrived, and when the request now under way started (slowloris defence).
    var lastRead = NIODeadline.now()
    var requestStarted: NIODeadline?
    var sawMessageInRead = false
    var timer: Scheduled<Void>?
    var timerDeadline = NIODeadline.distantFuture

    /// Counter and histogram handles this connection already resolved, by route, method and status.
    var metricHandles: [(key: Int, handles: KeyportMetrics.RequestHandles)] = []

    init(router: Router, metrics: KeyportMetrics?, limits: Limits, tracer: RequestTracer? = nil, allocator: ByteBufferAllocator) {
        self.router = router
        self.metrics = metrics
        self.limits = limits
        self.tracer = tracer
        self.outbound = allocator.buffer(capacity: 512)
    }

    // MARK: inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closing else { return }
        inRead = true
        sawMessageInRead = true
        switch unwrapInboundIn(data) {
        case .head(let requestHead):
            head = requestHead
            let announced = requestHead.headers.first(name: "content-length").flatMap(Int.init)
            if let announced, announced > limits.maxBodyBytes {
                refuseBody(context: context)
            } else if announced.map({ $0 > 0 }) ?? (requestHead.method != .GET && requestHead.method != .HEAD) {
                // A body may follow (a GET or HEAD without a length has none): the hot path skips this look-up.
                expectContinue(requestHead)
            }
        case .body(var part):
            guard head != nil else { return }
            if (body?.readableBytes ?? 0) + part.readableBytes > limits.maxBodyBytes {
                refuseBody(context: context)
            } else if body == nil {
                body = part
            } else {
                body!.writeBuffer(&part)
            }
        case .end:
            guard let requestHead = head else { return }
            head = nil
            requestStarted = nil
            let requestBody = body
            body = nil
            // A request that ends the connection ends its input too, whether it is answered now or later.
            if Self.endsConnection(requestHead) { closing = true }
            if mustDefer(context: context) {
                deferred.append(.request(requestHead, body: requestBody))
            } else {
                received(requestHead, body: requestBody, context: context)
            }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        inRead = false
        let now = context.eventLoop.now
        lastRead = now
        // Bytes that completed no request, or a head whose body is still coming: a request is under way.
        if requestStarted == nil, !closing, head != nil || !sawMessageInRead {
            requestStarted = now
            if now + limits.requestTimeout < timerDeadline { armTimer(context: context, at: now + limits.requestTimeout) }
        }
        sawMessageInRead = false
        flush(context: context)
        context.fireChannelReadComplete()
    }

    /// A complete request: route it, then write its response now or queue it behind earlier ones.
    func received(_ requestHead: HTTPRequestHead, body: ByteBuffer?, context: ChannelHandlerContext) {
        let request = Request(method: requestHead.method, uri: requestHead.uri, headers: requestHead.headers, body: body)
        let match = router.match(request)
        let keepAlive = !Self.endsConnection(requestHead) && !quiescing
        // The server span starts once the request is routed and ends when its response is written (`write`);
        // with tracing off a request pays this nil check and that one, nothing else.
        let span = tracer?.start(requestHead, route: match.template, localAddress: context.channel.localAddress)
        let exchange = Exchange(
            method: requestHead.method, version: requestHead.version, keepAlive: keepAlive,
            routeIndex: match.routeIndex, route: match.template, received: context.eventLoop.now, span: span)
        if !keepAlive { closing = true }
        switch respond(to: request, match: match, context: context) {
        case .now(let response):
            deliver(response, for: exchange, context: context)
        case .later(let future):
            let sequence = nextSequence
            nextSequence += 1
            queue.append(QueuedResponse(sequence: sequence, exchange: exchange, response: nil))
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

    /// `Connection: close` (or HTTP/1.0 without keep-alive), or CONNECT: NIO's encoder sent a response to
    /// CONNECT without a body or length, so only closing frames it.
    static func endsConnection(_ requestHead: HTTPRequestHead) -> Bool {
        !requestHead.isKeepAlive || requestHead.method == .CONNECT
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

    /// A body over the limit (announced or sent): a JSON 413, then the connection closes.
    private func refuseBody(context: ChannelHandlerContext) {
        let version = head?.version ?? .http1_1
        head = nil
        body = nil
        requestStarted = nil
        closing = true
        let error = HTTPError(.payloadTooLarge, "request body too large: at most \(limits.maxBodyBytes) bytes")
        refuse(error.response, for: Self.refused(version: version), context: context)
    }

    /// `Expect: 100-continue`: the client holds its body back until it hears from the server, so say go on
    /// now (flushed when this read completes). Behind earlier responses still owed, the interim answer would
    /// come out of order, so it waits out instead; the client sends the body after its own short wait.
    private func expectContinue(_ requestHead: HTTPRequestHead) {
        guard requestHead.version.minor >= 1, queue.isEmpty, deferred.isEmpty,
            requestHead.headers[canonicalForm: "expect"].contains(where: { $0.lowercased() == "100-continue" })
        else { return }
        outbound.writeStaticString("HTTP/1.1 100 Continue\r\n\r\n")
    }

    /// The exchange of a request refused before routing: counted, not timed, and the connection closes.
    static func refused(version: HTTPVersion = .http1_1) -> Exchange {
        Exchange(method: .RAW(value: "OTHER"), version: version, keepAlive: false, routeIndex: -1, route: Router.unmatchedRoute, received: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // Input after a parser error only repeats it (the parser may report it again); the closing response
        // already decided ends the connection, after any deferred requests are answered.
        if closing, error is ByteToMessageDecoderError || error is HTTPParserError { return }
        guard let parserError = error as? HTTPParserError, !closing else {
            context.close(promise: nil)
            return
        }
        // The parser cannot go on after an error: answer it (after any response under way), then close.
        head = nil
        body = nil
        requestStarted = nil
        closing = true
        refuse(Self.error(for: parserError).response, for: Self.refused(), context: context)
    }

    /// The JSON error for what NIO's parser rejected: 405 for an unknown method, 431 for oversized headers.
    static func error(for parserError: HTTPParserError) -> HTTPError {
        switch parserError {
        case .invalidMethod:
            HTTPError(.methodNotAllowed, "unsupported HTTP method", headers: ["Allow": "GET, HEAD, POST"])
        case .headerOverflow:
            HTTPError(.requestHeaderFieldsTooLarge, "request headers too large: at most 100 fields, 8 KiB each, 16 KiB in all")
        default:
            HTTPError(.badRequest, "malformed HTTP request")
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is ChannelShouldQuiesceEvent else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        // Shutting down: close an idle connection now; otherwise the next response says `close` and ends it.
        quiescing = true
        if head == nil, requestStarted == nil, queue.isEmpty, deferred.isEmpty, outbound.readableBytes == 0 {
            context.close(promise: nil)
        }
    }

    // MARK: outbound

    /// Holds reads while requests wait to be answered, or once the connection is closing.
    func read(context: ChannelHandlerContext) {
        if closing || !deferred.isEmpty || mustDefer(context: context) {
            readHeld = true
        } else {
            context.read()
        }
    }

    // MARK: lifecycle

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { channelActiveStartsTimer(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        channelActiveStartsTimer(context: context)
        context.fireChannelActive()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { answerDeferred(context: context) }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        stopTimer()
        closing = true
        dropQueued()
        deferred.removeAll()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        stopTimer()
    }
}
