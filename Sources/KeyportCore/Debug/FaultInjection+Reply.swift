import NIOCore

extension FaultInjection {
    /// Runs an API handler under the injected faults: the 500 share first, then the delay on whatever
    /// it answers (errors too), scheduled on the event loop so nothing blocks it.
    func apply(on eventLoop: any EventLoop, _ handler: () throws(HTTPError) -> Reply) -> Reply {
        let reply: Reply
        do throws(HTTPError) {
            if shouldFail() { throw HTTPError(.internalServerError, "injected fault (POST /debug/fault)") }
            reply = try handler()
        } catch {
            reply = .now(error.response)
        }
        let delay = responseDelay
        guard delay > .zero else { return reply }
        switch reply {
        case .now(let response):
            return .later(eventLoop.scheduleTask(in: delay) { response }.futureResult)
        case .later(let future):
            return .later(future.flatMap { response in eventLoop.scheduleTask(in: delay) { response }.futureResult })
        }
    }
}
