import NIOCore
import NIOHTTP1

extension HTTPConnectionHandler {
    /// Writes `response` now when nothing is ahead of it, else queues it in request order.
    func deliver(_ response: Response, for exchange: Exchange, context: ChannelHandlerContext) {
        if queue.isEmpty {
            write(response, for: exchange, context: context)
        } else {
            queue.append(QueuedResponse(sequence: nextSequence, exchange: exchange, response: response))
            nextSequence += 1
        }
    }

    /// Off-loop work for request `sequence` finished: write every response that is now first in line.
    func completed(_ sequence: Int, with response: Response, context: ChannelHandlerContext) {
        guard let first = queue.first, sequence >= first.sequence, sequence - first.sequence < queue.count else { return }
        queue[queue.index(queue.startIndex, offsetBy: sequence - first.sequence)].response = response
        while let ready = queue.first, let readyResponse = ready.response {
            queue.removeFirst()
            write(readyResponse, for: ready.exchange, context: context)
            if !context.channel.isActive { return }
        }
        // Answers what waited behind these, flushes, and reads again when there is room.
        answerDeferred(context: context)
    }

    /// `true` while a request's response would only pile up: the channel holds more unsent bytes than its
    /// high water mark (the client is not reading), or too many responses wait for earlier ones.
    func mustDefer(context: ChannelHandlerContext) -> Bool {
        !context.channel.isWritable || queue.count >= limits.maxQueuedResponses
    }

    /// A refusal goes behind any deferred request, so that responses stay in request order.
    func refuse(_ response: Response, for exchange: Exchange, context: ChannelHandlerContext) {
        if deferred.isEmpty {
            deliver(response, for: exchange, context: context)
        } else {
            deferred.append(.refusal(response, exchange))
        }
    }

    /// Answers deferred requests while the connection can take their responses, then reads again.
    func answerDeferred(context: ChannelHandlerContext) {
        // Input stops once a request or a refusal ends the connection, so everything deferred is answered.
        while !mustDefer(context: context), let next = deferred.popFirst() {
            switch next {
            case .request(let requestHead, let body):
                received(requestHead, body: body, context: context)
            case .refusal(let response, let exchange):
                deliver(response, for: exchange, context: context)
            }
        }
        if !inRead { flush(context: context) }
        if readHeld, !closing, deferred.isEmpty, !mustDefer(context: context) {
            readHeld = false
            context.read()
        }
    }

    /// Serializes one response into the outbound buffer and counts it; a closing response ends the connection.
    private func write(_ response: Response, for exchange: Exchange, context: ChannelHandlerContext) {
        // While quiescing every response says `close`: the client then opens its next connection elsewhere.
        let keepAlive = exchange.keepAlive && !quiescing
        let framing = Response.Framing(
            version: exchange.version, keepAlive: keepAlive,
            omitsBody: exchange.method == .HEAD, omitsLength: exchange.method == .CONNECT)
        if response.serialize(into: &outbound, framing: framing), case .buffer(let body) = response.body {
            context.write(wrapOutboundOut(outbound), promise: nil)
            outbound.clear()
            context.write(wrapOutboundOut(body), promise: nil)
            unflushed = true
        }
        record(response.status, for: exchange, at: context.eventLoop.now)
        exchange.span?.end(status: response.status)
        if !keepAlive {
            closing = true
            dropQueued()
            deferred.removeAll()
            unflushed = false
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(outbound)).whenComplete { _ in channel.close(promise: nil) }
            outbound.clear()
            stopTimer()
        } else if !inRead {
            flush(context: context)
        }
    }

    /// Forgets the responses still waiting (the connection is closing); their spans end as abandoned.
    func dropQueued() {
        if tracer != nil {
            for queued in queue { queued.exchange.span?.abandon() }
        }
        queue.removeAll()
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
