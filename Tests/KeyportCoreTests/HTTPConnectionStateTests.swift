@testable import KeyportCore
import NIOCore
import NIOHTTP1
import Testing

/// `HTTPConnectionState` on its own, without a channel: each test drives the transitions the handler would
/// (time passed in as deadlines) and checks the actions they return.
@Suite struct HTTPConnectionStateTests {
    typealias State = HTTPConnectionState

    static let limits = State.Limits(idleTimeout: .seconds(60), requestTimeout: .seconds(30), maxBodyBytes: 64, maxQueuedResponses: 4)
    static let start = NIODeadline.uptimeNanoseconds(1_000_000_000_000)

    /// A connection that just became active at `start`.
    static func connection() -> State {
        var state = State(limits: limits)
        _ = state.activated(now: start)
        return state
    }

    static func head(
        _ method: HTTPMethod = .GET, _ uri: String = "/", version: HTTPVersion = .http1_1, headers: HTTPHeaders = [:]
    ) -> HTTPRequestHead {
        HTTPRequestHead(version: version, method: method, uri: uri, headers: headers)
    }

    static func exchange(keepAlive: Bool = true, version: HTTPVersion = .http1_1) -> State.Exchange {
        State.Exchange(method: .GET, version: version, keepAlive: keepAlive, routeIndex: 0, route: "/", received: start, span: nil)
    }

    static func text(_ response: Response) -> String { String(buffer: response.body.buffer) }

    // MARK: quiescing

    @Test func quiescingAnIdleConnectionClosesItAtOnce() {
        var fresh = Self.connection()
        #expect(fresh.quiesce().isClose)
        #expect(fresh.isClosing)

        // Idle again after a keep-alive exchange.
        var used = Self.connection()
        #expect(used.requestHead(Self.head()).isNone)
        let request = used.requestEnd(isWritable: true)
        #expect(request.answered?.uri == "/")
        let usedKeepsAlive = used.answering(Self.head())
        #expect(usedKeepsAlive)
        #expect(used.writing(Self.exchange()).keepsAlive)
        #expect(used.readComplete(now: Self.start).isNone)
        #expect(used.quiesce().isClose)
    }

    @Test func quiescingLeavesARequestUnderWayOpen() {
        // A head whose body is still coming.
        var receiving = Self.connection()
        #expect(receiving.requestHead(Self.head(.POST, headers: ["Content-Length": "3"])).isNone)
        _ = receiving.readComplete(now: Self.start)
        #expect(receiving.quiesce().isNone)
        #expect(!receiving.isClosing)
        _ = receiving.bodyPart(ByteBuffer(string: "abc"))
        #expect(receiving.requestEnd(isWritable: true).answered != nil)
        // Its response is the connection's last.
        let lastKeepsAlive = receiving.answering(Self.head(.POST))
        #expect(!lastKeepsAlive)
        #expect(receiving.isClosing)

        // Bytes that are not a whole head yet.
        var trickling = Self.connection()
        #expect(trickling.readComplete(now: Self.start).scheduled == Self.start + .seconds(30))
        #expect(trickling.quiesce().isNone)

        // A read under way gathers responses not sent yet.
        var reading = Self.connection()
        _ = reading.requestHead(Self.head())
        #expect(reading.quiesce().isNone)
    }

    @Test func quiescingMidRequestFinishesTheResponseThenCloses() {
        var state = Self.connection()
        _ = state.requestHead(Self.head(.GET, "/later"))
        #expect(state.requestEnd(isWritable: true).answered?.uri == "/later")
        let exchange = Self.exchange(keepAlive: state.answering(Self.head(.GET, "/later")))
        #expect(exchange.keepAlive)
        let sequence = state.awaitResponse(for: exchange)
        _ = state.readComplete(now: Self.start)

        #expect(state.quiesce().isNone)
        #expect(state.isAwaitingResponses)
        let awaited = state.completed(sequence, with: .text(.ok, "done"))
        #expect(awaited)
        let next = state.nextInLine()
        #expect(next.map { Self.text($0.response) } == "done")
        // The response decided keep-alive before the shutdown, and still says `Connection: close`.
        let decision = state.writing(exchange)
        #expect(!decision.keepsAlive)
        #expect(decision.abandoned?.isEmpty == true)
        #expect(state.isClosing)
    }

    @Test func withoutQuiescingTheSameResponseKeepsTheConnection() {
        var state = Self.connection()
        _ = state.requestHead(Self.head(.GET, "/later"))
        _ = state.requestEnd(isWritable: true)
        let exchange = Self.exchange(keepAlive: state.answering(Self.head(.GET, "/later")))
        let sequence = state.awaitResponse(for: exchange)
        _ = state.readComplete(now: Self.start)
        let awaited = state.completed(sequence, with: .text(.ok, "done"))
        #expect(awaited)
        #expect(state.nextInLine() != nil)
        // Outside a read the response is flushed at once.
        #expect(state.writing(exchange).flushesNow == true)
        #expect(!state.isClosing)
    }

    // MARK: timeouts

    @Test func anIdleConnectionClosesSilentlyAtTheIdleTimeout() {
        var state = State(limits: Self.limits)
        #expect(state.activated(now: Self.start).scheduled == Self.start + .seconds(60))
        // Armed once: a second activation (handler added to an active channel, then active) arms nothing.
        #expect(state.activated(now: Self.start + .seconds(1)).isNone)
        let fired = state.timerFired(now: Self.start + .seconds(60), isActive: true)
        #expect(fired.isClose)
        #expect(fired.written == nil)
        #expect(state.isClosing)
    }

    @Test func aConnectionThatReadOrOwesSomethingIsNotIdle() {
        // Bytes arrived 10 s in: the timer moves to 60 s after them.
        var reading = Self.connection()
        _ = reading.requestHead(Self.head())
        _ = reading.requestEnd(isWritable: true)
        let readingKeepsAlive = reading.answering(Self.head())
        #expect(readingKeepsAlive)
        _ = reading.writing(Self.exchange())
        #expect(reading.readComplete(now: Self.start + .seconds(10)).isNone)
        #expect(reading.timerFired(now: Self.start + .seconds(60), isActive: true).scheduled == Self.start + .seconds(70))
        #expect(reading.timerFired(now: Self.start + .seconds(70), isActive: true).isClose)

        // A response still owed keeps the connection: the timer looks again one idle period later.
        var owing = Self.connection()
        _ = owing.requestHead(Self.head(.GET, "/later"))
        _ = owing.requestEnd(isWritable: true)
        let owed = Self.exchange(keepAlive: owing.answering(Self.head()))
        _ = owing.awaitResponse(for: owed)
        _ = owing.readComplete(now: Self.start)
        #expect(owing.timerFired(now: Self.start + .seconds(60), isActive: true).scheduled == Self.start + .seconds(120))

        // A channel already gone, or closing, has nothing to time out.
        var gone = Self.connection()
        #expect(gone.timerFired(now: Self.start + .seconds(60), isActive: false).isNone)
    }

    @Test func aRequestNotCompleteInTimeGets408ThenCloses() throws {
        var state = Self.connection()
        // A read that completed no request (half a request line) starts the request timeout.
        #expect(state.readComplete(now: Self.start + .seconds(1)).scheduled == Self.start + .seconds(31))
        // More bytes do not restart it.
        #expect(state.readComplete(now: Self.start + .seconds(20)).isNone)
        #expect(state.timerFired(now: Self.start + .seconds(30), isActive: true).scheduled == Self.start + .seconds(31))

        let fired = state.timerFired(now: Self.start + .seconds(31), isActive: true)
        let (response, exchange) = try #require(fired.written)
        #expect(response.status == .requestTimeout)
        #expect(Self.text(response).contains("within 30 s of its first byte (--request-timeout)"))
        #expect(!exchange.keepAlive)
        #expect(exchange.received == nil)
        #expect(!state.writing(exchange).keepsAlive)
        // The rest of the request is ignored.
        #expect(state.requestHead(Self.head()).isNone)
        #expect(state.requestEnd(isWritable: true).isNone)
    }

    @Test func aHeadWhoseBodyIsLateGets408() throws {
        var state = Self.connection()
        _ = state.requestHead(Self.head(.POST, headers: ["Content-Length": "10"]))
        #expect(state.readComplete(now: Self.start).scheduled == Self.start + .seconds(30))
        let (response, _) = try #require(state.timerFired(now: Self.start + .seconds(30), isActive: true).written)
        #expect(response.status == .requestTimeout)
    }

    @Test func aRequestCompleteInTimeNeverGets408() {
        var state = Self.connection()
        _ = state.readComplete(now: Self.start + .seconds(1))
        _ = state.requestHead(Self.head())
        #expect(state.requestEnd(isWritable: true).answered != nil)
        _ = state.answering(Self.head())
        _ = state.writing(Self.exchange())
        _ = state.readComplete(now: Self.start + .seconds(2))
        // The timer armed for the request timeout finds no request and waits for the idle timeout.
        let fired = state.timerFired(now: Self.start + .seconds(31), isActive: true)
        #expect(fired.written == nil)
        #expect(fired.scheduled == Self.start + .seconds(62))
    }

    @Test func aRequestTimeoutBehindAnOwedResponseClosesWithout408() {
        var state = Self.connection()
        _ = state.requestHead(Self.head(.GET, "/later"))
        _ = state.requestEnd(isWritable: true)
        let owed = Self.exchange(keepAlive: state.answering(Self.head()))
        _ = state.awaitResponse(for: owed)
        // The next request's head, and its body never comes.
        _ = state.requestHead(Self.head(.POST, headers: ["Content-Length": "10"]))
        _ = state.readComplete(now: Self.start)
        // A 408 now would come out between the owed response's bytes.
        #expect(state.timerFired(now: Self.start + .seconds(30), isActive: true).isClose)
        #expect(state.isClosing)
    }

    // MARK: order and backpressure

    @Test func pipelinedRequestsStayInOrderAndReadingIsHeldAtTheLimitThenResumed() throws {
        var state = Self.connection()
        var sequences: [Int] = []
        for index in 0..<4 {
            _ = state.requestHead(Self.head(.GET, "/later/\(index)"))
            #expect(state.requestEnd(isWritable: true).answered?.uri == "/later/\(index)")
            let exchange = Self.exchange(keepAlive: state.answering(Self.head()))
            sequences.append(state.awaitResponse(for: exchange))
        }
        // Four responses wait: the fifth request is kept, not answered, and reading stops.
        _ = state.requestHead(Self.head(.GET, "/fifth"))
        #expect(state.requestEnd(isWritable: true).isNone)
        _ = state.readComplete(now: Self.start)
        #expect(state.readRequested(isWritable: true).isNone)
        #expect(state.nextDeferred(isWritable: true) == nil)

        // Finished out of order, written in order.
        let cWasAwaited = state.completed(sequences[2], with: .text(.ok, "c"))
        #expect(cWasAwaited)
        #expect(state.nextInLine() == nil)
        let aWasAwaited = state.completed(sequences[0], with: .text(.ok, "a"))
        #expect(aWasAwaited)
        #expect(state.nextInLine().map { Self.text($0.response) } == "a")
        #expect(state.nextInLine() == nil)
        let bWasAwaited = state.completed(sequences[1], with: .text(.ok, "b"))
        #expect(bWasAwaited)
        #expect(state.nextInLine().map { Self.text($0.response) } == "b")
        #expect(state.nextInLine().map { Self.text($0.response) } == "c")
        #expect(state.nextInLine() == nil)
        // An unknown or already written sequence is not awaited.
        let writtenIsAwaited = state.completed(sequences[0], with: .text(.ok, "again"))
        #expect(!writtenIsAwaited)

        // Room again: the kept request is answered, then reading resumes.
        let deferred = state.nextDeferred(isWritable: true)
        guard case .request(let kept, _) = try #require(deferred) else {
            Issue.record("expected the kept request")
            return
        }
        #expect(kept.uri == "/fifth")
        #expect(state.resumeReading(isWritable: true).isRead)
        #expect(state.resumeReading(isWritable: true).isNone)
        #expect(state.readRequested(isWritable: true).isRead)
    }

    @Test func aResponseReadyNowWaitsBehindAnAwaitedOne() {
        var state = Self.connection()
        let first = state.awaitResponse(for: Self.exchange())
        #expect(state.isAwaitingResponses)
        state.enqueue(.text(.ok, "second"), for: Self.exchange())
        #expect(state.nextInLine() == nil)
        let firstWasAwaited = state.completed(first, with: .text(.ok, "first"))
        #expect(firstWasAwaited)
        #expect(state.nextInLine().map { Self.text($0.response) } == "first")
        #expect(state.nextInLine().map { Self.text($0.response) } == "second")
        #expect(!state.isAwaitingResponses)
    }

    @Test func aClientThatDoesNotReadHasItsRequestsKeptUntilItDoes() {
        var state = Self.connection()
        _ = state.requestHead(Self.head())
        #expect(state.requestEnd(isWritable: false).isNone)
        _ = state.readComplete(now: Self.start)
        // Held while the request waits, even once the channel is writable again.
        #expect(state.readRequested(isWritable: true).isNone)
        #expect(state.nextDeferred(isWritable: false) == nil)
        #expect(state.resumeReading(isWritable: false).isNone)
        #expect(state.nextDeferred(isWritable: true) != nil)
        #expect(state.nextDeferred(isWritable: true) == nil)
        #expect(state.resumeReading(isWritable: true).isRead)
    }

    // MARK: bodies and refusals

    @Test func anAnnouncedBodyOverTheCapGets413AndCloses() throws {
        var state = Self.connection()
        let action = state.requestHead(Self.head(.POST, headers: ["Content-Length": "65"]))
        let (response, exchange) = try #require(action.written)
        #expect(response.status == .payloadTooLarge)
        #expect(Self.text(response).contains("at most 64 bytes"))
        #expect(!exchange.keepAlive)
        #expect(state.isClosing)
        #expect(state.bodyPart(ByteBuffer(string: "a")).isNone)
        #expect(state.requestEnd(isWritable: true).isNone)
    }

    @Test func aSentBodyOverTheCapGets413() throws {
        var state = Self.connection()
        #expect(state.requestHead(Self.head(.POST, headers: ["Transfer-Encoding": "chunked"])).isNone)
        #expect(state.bodyPart(ByteBuffer(repeating: UInt8(ascii: "a"), count: 32)).isNone)
        let (response, exchange) = try #require(state.bodyPart(ByteBuffer(repeating: UInt8(ascii: "b"), count: 33)).written)
        #expect(response.status == .payloadTooLarge)
        #expect(!state.writing(exchange).keepsAlive)
    }

    @Test func aBodyAtTheCapIsAnswered() throws {
        var state = Self.connection()
        #expect(state.requestHead(Self.head(.POST, headers: ["Content-Length": "64"])).isNone)
        #expect(state.bodyPart(ByteBuffer(repeating: UInt8(ascii: "a"), count: 32)).isNone)
        #expect(state.bodyPart(ByteBuffer(repeating: UInt8(ascii: "b"), count: 32)).isNone)
        guard case .answer(_, let body) = state.requestEnd(isWritable: true) else {
            Issue.record("expected the request to be answered")
            return
        }
        #expect(body.map { String(buffer: $0) } == String(repeating: "a", count: 32) + String(repeating: "b", count: 32))
        #expect(!state.isClosing)
    }

    @Test func a413BehindAnOwedResponseWaitsItsTurn() throws {
        var state = Self.connection()
        let owed = state.awaitResponse(for: Self.exchange())
        #expect(state.requestHead(Self.head(.POST, headers: ["Content-Length": "65"])).isNone)
        let owedWasAwaited = state.completed(owed, with: .text(.ok, "owed"))
        #expect(owedWasAwaited)
        #expect(state.nextInLine().map { Self.text($0.response) } == "owed")
        let next = state.nextInLine()
        let refusal = try #require(next)
        #expect(refusal.response.status == .payloadTooLarge)
    }

    @Test func parserErrorsAreAnsweredOnceThenTheConnectionCloses() throws {
        var state = Self.connection()
        let (response, exchange) = try #require(state.errorCaught(HTTPParserError.invalidMethod).written)
        #expect(response.status == .methodNotAllowed)
        #expect(response.headers["Allow"] == ["GET, HEAD, POST"])
        #expect(!exchange.keepAlive)
        // The parser repeats itself on the rest of the input: answered once.
        #expect(state.errorCaught(HTTPParserError.invalidMethod).isNone)

        var other = Self.connection()
        #expect(other.errorCaught(ChannelError.ioOnClosedChannel).isClose)
    }

    @Test func expectContinueIsAnsweredOnlyWhenNothingIsOwed() {
        let expecting: HTTPHeaders = ["Content-Length": "3", "Expect": "100-continue"]
        var state = Self.connection()
        #expect(state.requestHead(Self.head(.POST, headers: expecting)).isContinue)

        var plain = Self.connection()
        #expect(plain.requestHead(Self.head(.POST, headers: ["Content-Length": "3"])).isNone)

        var old = Self.connection()
        #expect(old.requestHead(Self.head(.POST, version: .http1_0, headers: expecting)).isNone)

        var behind = Self.connection()
        _ = behind.awaitResponse(for: Self.exchange())
        #expect(behind.requestHead(Self.head(.POST, headers: expecting)).isNone)
    }

    // MARK: closing

    @Test func inputAfterClosingIsIgnored() {
        var state = Self.connection()
        _ = state.requestHead(Self.head(headers: ["Connection": "close"]))
        #expect(state.requestEnd(isWritable: true).answered != nil)
        // The request that ends the connection ends its input, before its response is written.
        #expect(state.isClosing)
        #expect(state.requestHead(Self.head(.GET, "/next")).isNone)
        #expect(state.bodyPart(ByteBuffer(string: "x")).isNone)
        #expect(state.requestEnd(isWritable: true).isNone)
        #expect(state.readComplete(now: Self.start).isNone)
        #expect(state.readRequested(isWritable: true).isNone)
        #expect(state.resumeReading(isWritable: true).isNone)
        #expect(state.timerFired(now: Self.start + .seconds(60), isActive: true).isNone)
    }

    @Test(arguments: [
        (HTTPVersion.http1_1, ["Connection": "close"] as HTTPHeaders),
        (HTTPVersion.http1_0, HTTPHeaders()),
    ])
    func aRequestWithoutKeepAliveClosesAfterItsResponse(version: HTTPVersion, headers: HTTPHeaders) {
        var state = Self.connection()
        let head = Self.head(version: version, headers: headers)
        _ = state.requestHead(head)
        #expect(state.requestEnd(isWritable: true).answered != nil)
        let keepAlive = state.answering(head)
        #expect(!keepAlive)
        #expect(!state.writing(Self.exchange(keepAlive: keepAlive, version: version)).keepsAlive)
    }

    @Test(arguments: [
        (HTTPVersion.http1_1, HTTPHeaders()),
        (HTTPVersion.http1_0, ["Connection": "keep-alive"] as HTTPHeaders),
    ])
    func aKeepAliveRequestKeepsTheConnection(version: HTTPVersion, headers: HTTPHeaders) {
        var state = Self.connection()
        let head = Self.head(version: version, headers: headers)
        _ = state.requestHead(head)
        #expect(state.requestEnd(isWritable: true).answered != nil)
        let keepAlive = state.answering(head)
        #expect(keepAlive)
        // During the read the response waits for the read's one flush.
        #expect(state.writing(Self.exchange(keepAlive: keepAlive, version: version)).flushesNow == false)
        #expect(!state.isClosing)
    }

    @Test func closingDropsWhatIsStillOwed() {
        var state = Self.connection()
        _ = state.awaitResponse(for: Self.exchange())
        _ = state.awaitResponse(for: Self.exchange())
        #expect(state.closed().count == 2)
        #expect(!state.isAwaitingResponses)
        #expect(state.isClosing)
    }
}

extension HTTPConnectionState.Action {
    fileprivate var isNone: Bool { if case .none = self { true } else { false } }
    fileprivate var isClose: Bool { if case .close = self { true } else { false } }
    fileprivate var isRead: Bool { if case .read = self { true } else { false } }
    fileprivate var isContinue: Bool { if case .sendContinue = self { true } else { false } }
    fileprivate var scheduled: NIODeadline? { if case .scheduleTimer(let deadline) = self { deadline } else { nil } }
    fileprivate var answered: HTTPRequestHead? { if case .answer(let head, _) = self { head } else { nil } }
    fileprivate var written: (Response, HTTPConnectionState.Exchange)? {
        if case .write(let response, let exchange) = self { (response, exchange) } else { nil }
    }
}

extension HTTPConnectionState.WriteDecision {
    fileprivate var flushesNow: Bool? { if case .keepAlive(let flushNow) = self { flushNow } else { nil } }
    fileprivate var abandoned: CircularBuffer<HTTPConnectionState.QueuedResponse>? {
        if case .close(let abandoned) = self { abandoned } else { nil }
    }
}
