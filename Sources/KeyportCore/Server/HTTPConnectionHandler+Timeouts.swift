import NIOCore
import NIOHTTP1

extension HTTPConnectionHandler {
    /// One timer per connection covers both timeouts. It is not re-armed per request or per read: when
    /// it fires it looks at the connection then, so a busy keep-alive connection costs one timer per period.
    func channelActiveStartsTimer(context: ChannelHandlerContext) {
        guard timer == nil else { return }
        lastRead = context.eventLoop.now
        armTimer(context: context, at: lastRead + limits.idleTimeout)
    }

    func armTimer(context: ChannelHandlerContext, at deadline: NIODeadline) {
        timer?.cancel()
        timerDeadline = deadline
        let boundSelf = NIOLoopBound(self, eventLoop: context.eventLoop)
        let boundContext = NIOLoopBound(context, eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(deadline: deadline) {
            boundSelf.value.timerFired(context: boundContext.value)
        }
    }

    func stopTimer() {
        timer?.cancel()
        timer = nil
        timerDeadline = .distantFuture
    }

    private func timerFired(context: ChannelHandlerContext) {
        timer = nil
        timerDeadline = .distantFuture
        guard context.channel.isActive, !closing else { return }
        let now = context.eventLoop.now
        if let started = requestStarted, started + limits.requestTimeout <= now {
            requestTimedOut(context: context)
            return
        }
        // Nothing arrived for the idle timeout and nothing is being answered: free the connection.
        if lastRead + limits.idleTimeout <= now, queue.isEmpty {
            context.close(promise: nil)
            return
        }
        var next = lastRead + limits.idleTimeout
        if next <= now { next = now + limits.idleTimeout }
        if let started = requestStarted { next = min(next, started + limits.requestTimeout) }
        armTimer(context: context, at: next)
    }

    /// A request not complete within the request timeout of its first byte (slowloris): 408, then close.
    private func requestTimedOut(context: ChannelHandlerContext) {
        requestStarted = nil
        head = nil
        body = nil
        guard queue.isEmpty else {
            // A response is under way; a 408 now would interleave with it.
            closing = true
            context.close(promise: nil)
            return
        }
        let seconds = Double(limits.requestTimeout.nanoseconds) / 1e9
        let error = HTTPError(
            .requestTimeout,
            "request not complete within \(seconds.formattedForMessage()) s of its first byte (--request-timeout)")
        refuse(error.response, for: Self.refused(), context: context)
    }
}

extension Double {
    /// `2` rather than `2.0`, `0.5` stays `0.5`: for messages.
    fileprivate func formattedForMessage() -> String {
        self == rounded() ? String(Int(self)) : String(self)
    }
}
