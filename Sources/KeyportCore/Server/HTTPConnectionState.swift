import NIOCore
import NIOHTTP1

/// The protocol state of one HTTP/1 connection as one value whose methods are its transitions: a request
/// arriving part by part under a body cap, responses owed in request order, reading held and resumed,
/// closing, quiescing, and the idle and request timeouts. It does no I/O: a transition returns what the
/// connection handler must do (write, flush, read, close, arm the timer), so every rule here is testable
/// without a channel. Routing, serializing and metrics stay in the handler.
struct HTTPConnectionState {
    /// Per-connection limits, from the configuration.
    struct Limits: Sendable {
        var idleTimeout: TimeAmount
        var requestTimeout: TimeAmount
        var maxBodyBytes: Int
        /// Responses that may wait for an earlier one before the connection stops reading more requests.
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

        /// A request refused before routing: counted, not timed, and the connection closes after it.
        static func refused(version: HTTPVersion = .http1_1) -> Exchange {
            Exchange(
                method: .RAW(value: "OTHER"), version: version, keepAlive: false, routeIndex: -1,
                route: Router.unmatchedRoute, received: nil)
        }
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

    /// What the handler does after a transition.
    enum Action {
        case none
        /// `HTTP/1.1 100 Continue`: the client holds its body back until it hears from the server. It goes
        /// out with the flush at the end of the read under way.
        case sendContinue
        /// A complete request to route now (`answering(_:)` first); its response is delivered in order.
        case answer(HTTPRequestHead, body: ByteBuffer?)
        /// A response that is next in line: write it as `writing(_:)` says.
        case write(Response, Exchange)
        /// Ask the channel for more input.
        case read
        /// Close the connection now.
        case close
        /// Arm the connection's one timer for this deadline, replacing the armed one.
        case scheduleTimer(NIODeadline)
    }

    /// How a response that is next in line goes out.
    enum WriteDecision {
        /// The connection stays open: flush now, or, during a read, once the read completes.
        case keepAlive(flushNow: Bool)
        /// The response says `Connection: close`: flush it, then close. The responses still awaited are
        /// dropped (returned for their spans), the timer is cancelled, and nothing more is read.
        case close(abandoned: CircularBuffer<QueuedResponse>)

        var keepsAlive: Bool {
            if case .keepAlive = self { true } else { false }
        }
    }

    let limits: Limits

    /// The request being received; its body is gathered up to `limits.maxBodyBytes`.
    private var head: HTTPRequestHead?
    private var body: ByteBuffer?
    /// A response that ends the connection is decided (or the connection closed): later input is ignored.
    private(set) var isClosing = false
    /// Shutting down: every response says `close`, and an idle connection closes at once.
    private(set) var isQuiescing = false
    /// Responses in request order behind one that is not ready yet; empty in the common case.
    private var queue = CircularBuffer<QueuedResponse>()
    private var nextSequence = 0
    /// Complete requests (and refusals) not yet turned into responses, because the client is not reading
    /// what it was sent or too many responses wait. One read can hold hundreds of pipelined requests, and
    /// answering them all at once would buffer a response each (400 pipelined 1 MiB keys: 400 MB).
    private var deferred = CircularBuffer<Deferred>()
    /// A read is under way: its responses are gathered and go out with one flush when it completes.
    private(set) var isReading = false
    /// The channel asked for input while it was held; `resumeReading` passes the request on.
    private var readHeld = false
    /// When bytes last arrived, and when the request now under way started (slowloris defence).
    private var lastRead = NIODeadline.uptimeNanoseconds(0)
    private var requestStarted: NIODeadline?
    private var sawMessageInRead = false
    /// The armed timer's deadline; `distantFuture` when none is armed.
    private var timerDeadline = NIODeadline.distantFuture

    init(limits: Limits) {
        self.limits = limits
    }

    // MARK: connection

    /// The connection is up: one timer covers both timeouts, armed here for the idle timeout. It is not
    /// re-armed per request or per read but looks at the connection when it fires (`timerFired`), so a
    /// busy keep-alive connection costs one timer per idle period.
    mutating func activated(now: NIODeadline) -> Action {
        guard timerDeadline == .distantFuture else { return .none }
        lastRead = now
        return schedule(now + limits.idleTimeout)
    }

    /// The channel closed: nothing more is read or answered. Returns the responses still awaited.
    mutating func closed() -> CircularBuffer<QueuedResponse> {
        isClosing = true
        timerDeadline = .distantFuture
        return dropQueued()
    }

    // MARK: input

    /// A request head arrived.
    @inline(__always)
    mutating func requestHead(_ requestHead: HTTPRequestHead) -> Action {
        guard startRead() else { return .none }
        head = requestHead
        let announced = requestHead.headers.first(name: "content-length").flatMap(Int.init)
        if let announced, announced > limits.maxBodyBytes {
            return refuseBody()
        }
        // A body may follow (a GET or HEAD without a length has none): the hot path skips the header look-up.
        if announced.map({ $0 > 0 }) ?? (requestHead.method != .GET && requestHead.method != .HEAD),
            expectsContinue(requestHead)
        {
            return .sendContinue
        }
        return .none
    }

    /// Part of the request's body arrived; a body over `limits.maxBodyBytes` is refused with a 413.
    mutating func bodyPart(_ part: ByteBuffer) -> Action {
        guard startRead(), head != nil else { return .none }
        var part = part
        if (body?.readableBytes ?? 0) + part.readableBytes > limits.maxBodyBytes {
            return refuseBody()
        }
        if body == nil {
            body = part
        } else {
            body!.writeBuffer(&part)
        }
        return .none
    }

    /// The request is complete: answer it now, or defer it while its response would only pile up.
    @inline(__always)
    mutating func requestEnd(isWritable: Bool) -> Action {
        guard startRead(), let requestHead = head else { return .none }
        let requestBody = body
        head = nil
        body = nil
        requestStarted = nil
        // A request that ends the connection ends its input too, whether it is answered now or later.
        if Self.endsConnection(requestHead) { isClosing = true }
        if mustDefer(isWritable: isWritable) {
            deferred.append(.request(requestHead, body: requestBody))
            return .none
        }
        return .answer(requestHead, body: requestBody)
    }

    /// A read delivered everything it had. Bytes that completed no request, or a head whose body is still
    /// coming, start the request timeout; the timer moves earlier when that deadline comes first.
    @inline(__always)
    mutating func readComplete(now: NIODeadline) -> Action {
        isReading = false
        lastRead = now
        let requestUnderWay = head != nil || !sawMessageInRead
        sawMessageInRead = false
        guard requestStarted == nil, !isClosing, requestUnderWay else { return .none }
        requestStarted = now
        let deadline = now + limits.requestTimeout
        return deadline < timerDeadline ? schedule(deadline) : .none
    }

    /// An error reached the handler. NIO's parser cannot go on after one: its error is answered (after any
    /// response owed), then the connection closes. Any other error closes at once.
    mutating func errorCaught(_ error: any Error) -> Action {
        // Input after a parser error only repeats it (the parser may report it again); the closing
        // response already decided ends the connection, after any deferred requests are answered.
        if isClosing, error is ByteToMessageDecoderError || error is HTTPParserError { return .none }
        guard let parserError = error as? HTTPParserError, !isClosing else {
            isClosing = true
            return .close
        }
        endInput()
        return refuse(Self.error(for: parserError).response, for: .refused())
    }

    /// The channel asks for more input: hold it while requests wait to be answered, or once closing.
    @inline(__always)
    mutating func readRequested(isWritable: Bool) -> Action {
        if isClosing || !deferred.isEmpty || mustDefer(isWritable: isWritable) {
            readHeld = true
            return .none
        }
        return .read
    }

    /// Pass on a held read once everything deferred is answered and responses no longer pile up.
    mutating func resumeReading(isWritable: Bool) -> Action {
        guard readHeld, !isClosing, deferred.isEmpty, !mustDefer(isWritable: isWritable) else { return .none }
        readHeld = false
        return .read
    }

    // MARK: shutdown and timeouts

    /// Shutting down: an idle connection closes now; otherwise the next response says `close` and ends it.
    mutating func quiesce() -> Action {
        isQuiescing = true
        guard head == nil, requestStarted == nil, queue.isEmpty, deferred.isEmpty, !isReading else { return .none }
        isClosing = true
        return .close
    }

    /// The timer fired: a request not complete within the request timeout of its first byte gets a 408;
    /// a connection that read nothing for the idle timeout and owes nothing closes; otherwise the timer
    /// is armed for the next deadline.
    mutating func timerFired(now: NIODeadline, isActive: Bool) -> Action {
        timerDeadline = .distantFuture
        guard isActive, !isClosing else { return .none }
        if let started = requestStarted, started + limits.requestTimeout <= now {
            return requestTimedOut()
        }
        if lastRead + limits.idleTimeout <= now, queue.isEmpty {
            isClosing = true
            return .close
        }
        var next = lastRead + limits.idleTimeout
        if next <= now { next = now + limits.idleTimeout }
        if let started = requestStarted { next = min(next, started + limits.requestTimeout) }
        return schedule(next)
    }

    // MARK: responses

    /// A complete request is being routed: returns whether its response keeps the connection open. While
    /// quiescing none does: the client then opens its next connection elsewhere.
    @inline(__always)
    mutating func answering(_ requestHead: HTTPRequestHead) -> Bool {
        let keepAlive = !Self.endsConnection(requestHead) && !isQuiescing
        if !keepAlive { isClosing = true }
        return keepAlive
    }

    /// `true` while an earlier response is awaited: a response ready now must `enqueue` behind it.
    var isAwaitingResponses: Bool { !queue.isEmpty }

    /// Puts a ready response in line behind the awaited ones.
    mutating func enqueue(_ response: Response, for exchange: Exchange) {
        queue.append(QueuedResponse(sequence: nextSequence, exchange: exchange, response: response))
        nextSequence += 1
    }

    /// A response that is finished off the event loop takes its place in line now; returns the sequence
    /// number to hand to `completed(_:with:)`.
    mutating func awaitResponse(for exchange: Exchange) -> Int {
        let sequence = nextSequence
        nextSequence += 1
        queue.append(QueuedResponse(sequence: sequence, exchange: exchange, response: nil))
        return sequence
    }

    /// The awaited response `sequence` is ready. `false` when it is no longer awaited (the connection closed):
    /// then there is nothing to write.
    mutating func completed(_ sequence: Int, with response: Response) -> Bool {
        guard let first = queue.first, sequence >= first.sequence, sequence - first.sequence < queue.count else {
            return false
        }
        queue[queue.index(queue.startIndex, offsetBy: sequence - first.sequence)].response = response
        return true
    }

    /// The first response in line, once it is ready; the handler writes each in turn.
    mutating func nextInLine() -> (response: Response, exchange: Exchange)? {
        guard let first = queue.first, let response = first.response else { return nil }
        queue.removeFirst()
        return (response, first.exchange)
    }

    /// The oldest deferred request or refusal, once its response would no longer pile up.
    mutating func nextDeferred(isWritable: Bool) -> Deferred? {
        guard !mustDefer(isWritable: isWritable) else { return nil }
        return deferred.popFirst()
    }

    /// A response that is next in line is written now: says whether the connection stays open after it.
    @inline(__always)
    mutating func writing(_ exchange: Exchange) -> WriteDecision {
        if exchange.keepAlive && !isQuiescing { return .keepAlive(flushNow: !isReading) }
        isClosing = true
        timerDeadline = .distantFuture
        return .close(abandoned: dropQueued())
    }

    // MARK: rules

    /// `true` while a request's response would only pile up: the channel holds more unsent bytes than its
    /// high water mark (the client is not reading), or too many responses wait for earlier ones.
    func mustDefer(isWritable: Bool) -> Bool {
        !isWritable || queue.count >= limits.maxQueuedResponses
    }

    /// `Connection: close` (or HTTP/1.0 without keep-alive), or CONNECT: keyport tunnels nothing, and its
    /// answer to CONNECT carries neither body nor length (`Response.Framing.omitsLength`), so only closing
    /// the connection ends that response.
    static func endsConnection(_ requestHead: HTTPRequestHead) -> Bool {
        !requestHead.isKeepAlive || requestHead.method == .CONNECT
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

    // MARK: private

    /// Every input event starts here: `false` once closing, when input is ignored.
    @inline(__always)
    private mutating func startRead() -> Bool {
        guard !isClosing else { return false }
        isReading = true
        sawMessageInRead = true
        return true
    }

    private mutating func schedule(_ deadline: NIODeadline) -> Action {
        timerDeadline = deadline
        return .scheduleTimer(deadline)
    }

    /// The input ends: the request under way is dropped and nothing more is read.
    private mutating func endInput() {
        head = nil
        body = nil
        requestStarted = nil
        isClosing = true
    }

    /// A refusal goes behind any deferred request and any awaited response, so responses stay in request order.
    private mutating func refuse(_ response: Response, for exchange: Exchange) -> Action {
        if !deferred.isEmpty {
            deferred.append(.refusal(response, exchange))
            return .none
        }
        if !queue.isEmpty {
            enqueue(response, for: exchange)
            return .none
        }
        return .write(response, exchange)
    }

    /// A body over the limit (announced or sent): a JSON 413, then the connection closes.
    private mutating func refuseBody() -> Action {
        let version = head?.version ?? .http1_1
        endInput()
        let error = HTTPError(.payloadTooLarge, "request body too large: at most \(limits.maxBodyBytes) bytes")
        return refuse(error.response, for: .refused(version: version))
    }

    /// A request not complete within the request timeout of its first byte (slowloris): 408, then close.
    private mutating func requestTimedOut() -> Action {
        endInput()
        // A response is under way; a 408 now would interleave with it.
        guard queue.isEmpty else { return .close }
        let seconds = Double(limits.requestTimeout.nanoseconds) / 1e9
        let error = HTTPError(
            .requestTimeout,
            "request not complete within \(seconds.formattedForMessage()) s of its first byte (--request-timeout)")
        return refuse(error.response, for: .refused())
    }

    /// `Expect: 100-continue` is answered at once, except behind earlier responses still owed: there the
    /// interim answer would come out of order, so the client sends its body after its own short wait.
    private func expectsContinue(_ requestHead: HTTPRequestHead) -> Bool {
        requestHead.version.minor >= 1 && queue.isEmpty && deferred.isEmpty
            && requestHead.headers[canonicalForm: "expect"].contains(where: { $0.lowercased() == "100-continue" })
    }

    /// Forgets the deferred requests and the responses still awaited; returns the latter.
    private mutating func dropQueued() -> CircularBuffer<QueuedResponse> {
        deferred.removeAll()
        defer { queue.removeAll() }
        return queue
    }
}

extension Double {
    /// `2` rather than `2.0`, `0.5` stays `0.5`: for messages.
    fileprivate func formattedForMessage() -> String {
        self == rounded() ? String(Int(self)) : String(self)
    }
}
