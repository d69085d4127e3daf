import NIOCore

extension HTTPConnectionHandler {
    /// Arms the connection's one timer for `deadline`, replacing the armed one; `HTTPConnectionState`
    /// decides when (idle and request timeouts) and what happens when it fires.
    func scheduleTimer(at deadline: NIODeadline, context: ChannelHandlerContext) {
        timer?.cancel()
        let boundSelf = NIOLoopBound(self, eventLoop: context.eventLoop)
        let boundContext = NIOLoopBound(context, eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(deadline: deadline) {
            boundSelf.value.timerFired(context: boundContext.value)
        }
    }

    func cancelTimer() {
        timer?.cancel()
        timer = nil
    }

    private func timerFired(context: ChannelHandlerContext) {
        timer = nil
        perform(state.timerFired(now: context.eventLoop.now, isActive: context.channel.isActive), context: context)
    }
}
