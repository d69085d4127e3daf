import NIOCore
import NIOHTTP1

extension HTTPConnectionHandler {
    /// Writes `response` now when no earlier response is awaited, else puts it in line.
    func deliver(_ response: Response, for exchange: Exchange, context: ChannelHandlerContext) {
        if state.isAwaitingResponses {
            state.enqueue(response, for: exchange)
        } else {
            write(response, for: exchange, context: context)
        }
    }

    /// Off-loop work for request `sequence` finished: write every response that is now first in line.
    func completed(_ sequence: Int, with response: Response, context: ChannelHandlerContext) {
        guard state.completed(sequence, with: response) else { return }
        while let next = state.nextInLine() {
            write(next.response, for: next.exchange, context: context)
            if !context.channel.isActive { return }
        }
        // Answers what waited behind these, flushes, and reads again when there is room.
        answerDeferred(context: context)
    }

    /// Answers deferred requests while the connection can take their responses, then reads again.
    func answerDeferred(context: ChannelHandlerContext) {
        while let next = state.nextDeferred(isWritable: context.channel.isWritable) {
            switch next {
            case .request(let requestHead, let body):
                answer(requestHead, body: body, context: context)
            case .refusal(let response, let exchange):
                deliver(response, for: exchange, context: context)
            }
        }
        if !state.isReading { flush(context: context) }
        perform(state.resumeReading(isWritable: context.channel.isWritable), context: context)
    }

    /// Serializes one response that is next in line into the outbound buffer and counts it; a response
    /// that closes the connection is flushed at once and the connection closes once it is written.
    func write(_ response: Response, for exchange: Exchange, context: ChannelHandlerContext) {
        let decision = state.writing(exchange)
        let framing = Response.Framing(
            version: exchange.version, keepAlive: decision.keepsAlive,
            omitsBody: exchange.method == .HEAD, omitsLength: exchange.method == .CONNECT)
        if response.serialize(into: &outbound, framing: framing), case .buffer(let body) = response.body {
            context.write(wrapOutboundOut(outbound), promise: nil)
            outbound.clear()
            context.write(wrapOutboundOut(body), promise: nil)
            unflushed = true
        }
        record(response.status, for: exchange, at: context.eventLoop.now)
        exchange.span?.end(status: response.status)
        switch decision {
        case .keepAlive(let flushNow):
            if flushNow { flush(context: context) }
        case .close(let abandoned):
            abandon(abandoned)
            cancelTimer()
            unflushed = false
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(outbound)).whenComplete { _ in channel.close(promise: nil) }
            outbound.clear()
        }
    }

    /// Responses the connection will no longer write: their spans end as abandoned.
    func abandon(_ abandoned: CircularBuffer<HTTPConnectionState.QueuedResponse>) {
        guard tracer != nil else { return }
        for queued in abandoned { queued.exchange.span?.abandon() }
    }

    /// Sends what the current read's responses gathered, with one write.
    func flush(context: ChannelHandlerContext) {
        guard outbound.readableBytes > 0 || unflushed else { return }
        unflushed = false
        context.writeAndFlush(wrapOutboundOut(outbound), promise: nil)
        // The socket usually took the bytes already, so clearing reuses the storage without allocating.
        outbound.clear()
        if outbound.capacity > 64 * 1024 { outbound = context.channel.allocator.buffer(capacity: 512) }
    }

    /// Counts the response; routed requests are timed too, with handles cached on the connection.
    private func record(_ status: HTTPResponseStatus, for exchange: Exchange, at now: NIODeadline) {
        guard let metrics else { return }
        guard let received = exchange.received else {
            metrics.recordRejectedRequest(status: status)
            return
        }
        let key = exchange.routeIndex &<< 24 | KeyportMetrics.methodSlot(exchange.method) &<< 12 | Int(status.code)
        let handles: KeyportMetrics.RequestHandles
        if let cached = metricHandles.first(where: { $0.key == key }) {
            handles = cached.handles
        } else {
            handles = metrics.requestHandles(method: exchange.method, route: exchange.route, status: status)
            // Bounded: a client cycling through statuses cannot grow the cache.
            if metricHandles.count < 16 { metricHandles.append((key, handles)) }
        }
        handles.record(duration: .nanoseconds(now.uptimeNanoseconds &- received.uptimeNanoseconds))
    }
}
