import NIOCore
import NIOHTTP1

/// Answers 408 and closes the connection when a request is not complete (headers and body) within the
/// request timeout of its first byte. The idle timeout alone never catches a slow client that trickles
/// a byte at a time (slowloris). It sits first in the pipeline to see raw bytes; `HTTPHandler` reports
/// each complete request and each finished response with outbound user events.
/// A ChannelHandler is bound to its channel's event loop, which is why it is not `Sendable`.
final class RequestTimeoutHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    /// Sent by the request handler when a complete request reached it.
    struct RequestReceived {}
    /// Sent by the request handler when a response has been written.
    struct ResponseWritten {}

    private let timeout: TimeAmount
    private let metrics: KeyportMetrics?
    /// When the first byte of the request now arriving came; `nil` between requests.
    private var requestStarted: NIODeadline?
    /// At most one pending check per connection. It is not cancelled when a request completes: when it
    /// fires it looks at the request then under way, so a keep-alive connection costs one timer per
    /// `timeout`, not one per request.
    private var check: Scheduled<Void>?
    /// Requests received whose responses are not written yet; a 408 may be written only when none is.
    private var unanswered = 0

    init(timeout: TimeAmount, metrics: KeyportMetrics?) {
        self.timeout = timeout
        self.metrics = metrics
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if requestStarted == nil, unwrapInboundIn(data).readableBytes > 0 {
            // The first bytes of a request: it now has `timeout` to arrive whole.
            let now = NIODeadline.now()
            requestStarted = now
            if check == nil { scheduleCheck(at: now + timeout, context: context) }
        }
        context.fireChannelRead(data)
    }

    private func scheduleCheck(at deadline: NIODeadline, context: ChannelHandlerContext) {
        let boundSelf = NIOLoopBound(self, eventLoop: context.eventLoop)
        let boundContext = NIOLoopBound(context, eventLoop: context.eventLoop)
        check = context.eventLoop.scheduleTask(deadline: deadline) {
            boundSelf.value.checkDeadline(context: boundContext.value)
        }
    }

    private func checkDeadline(context: ChannelHandlerContext) {
        check = nil
        guard let started = requestStarted else { return }
        let deadline = started + timeout
        if deadline <= .now() {
            timedOut(context: context)
        } else {
            // A later request is under way: check again at its own deadline.
            scheduleCheck(at: deadline, context: context)
        }
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        switch event {
        case is RequestReceived:
            requestStarted = nil
            unanswered += 1
            promise?.succeed(())
        case is ResponseWritten:
            unanswered = max(0, unanswered - 1)
            promise?.succeed(())
        default:
            context.triggerUserOutboundEvent(event, promise: promise)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        check?.cancel()
        check = nil
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        check?.cancel()
        check = nil
    }

    private func timedOut(context: ChannelHandlerContext) {
        requestStarted = nil
        guard context.channel.isActive else { return }
        guard unanswered == 0 else {
            // A response is under way; a 408 now would interleave with it.
            context.close(promise: nil)
            return
        }
        let seconds = Double(timeout.nanoseconds) / 1e9
        let error = HTTPError(
            .requestTimeout,
            "request not complete within \(seconds.formatted()) s of its first byte (--request-timeout)")
        // Raw bytes: the HTTP encoder is further down the pipeline and has no request to pair this with.
        var bytes = context.channel.allocator.buffer(capacity: 256)
        let body = error.response.body
        bytes.writeString(
            "HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\ncontent-length: \(body.readableBytes)\r\nconnection: close\r\n\r\n")
        bytes.writeImmutableBuffer(body)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.byteBuffer(bytes))).whenComplete { _ in channel.close(promise: nil) }
        metrics?.recordRejectedRequest(status: .requestTimeout)
    }
}

extension Double {
    /// `2` rather than `2.0`, `0.5` stays `0.5`: for messages.
    fileprivate func formatted() -> String {
        self == rounded() ? String(Int(self)) : String(self)
    }
}
