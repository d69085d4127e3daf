@testable import KeyportCore
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

/// The connection handler on an `EmbeddedChannel` (virtual time): order, framing, limits, timeouts, quiescing.
@Suite struct ConnectionHandlerTests {
    @Test func pipelinedRequestsAreAnsweredInOrderEvenWhenOneFinishesLater() throws {
        let connection = try EmbeddedConnection()
        try connection.send("GET /now/a HTTP/1.1\r\n\r\nGET /later HTTP/1.1\r\n\r\nGET /now/b HTTP/1.1\r\n\r\n")
        let first = try connection.written()
        #expect(first.hasSuffix("\r\n\r\na"))
        #expect(!first.contains("\r\n\r\nb"))
        let promise = try #require(connection.later.value.first)
        promise.succeed(.text(.ok, "L"))
        let rest = try connection.written()
        let later = try #require(rest.range(of: "\r\n\r\nL"))
        let second = try #require(rest.range(of: "\r\n\r\nb"))
        #expect(later.lowerBound < second.lowerBound)
        #expect(connection.channel.isActive)
    }

    @Test func aClientThatDoesNotReadIsAnsweredOnlyOnceItReadsAgain() throws {
        let connection = try EmbeddedConnection()
        // Not writable: the channel holds more unsent bytes than its high water mark.
        connection.channel.isWritable = false
        try connection.send("GET /now/a HTTP/1.1\r\n\r\nGET /now/b HTTP/1.1\r\n\r\nGET /nope HTTP/1.1\r\n\r\n")
        #expect(try connection.written() == "")
        connection.channel.isWritable = true
        connection.channel.pipeline.fireChannelWritabilityChanged()
        let text = try connection.written()
        let a = try #require(text.range(of: "\r\n\r\na"))
        let b = try #require(text.range(of: "\r\n\r\nb"))
        let missing = try #require(text.range(of: "HTTP/1.1 404 Not Found"))
        #expect(a.lowerBound < b.lowerBound && b.lowerBound < missing.lowerBound)
        #expect(connection.channel.isActive)
    }

    @Test func aRefusalWaitsBehindTheRequestsDeferredBeforeIt() throws {
        let connection = try EmbeddedConnection()
        connection.channel.isWritable = false
        try? connection.send("GET /now/a HTTP/1.1\r\n\r\nGET / HTTP/2.0\r\n\r\n")
        #expect(try connection.written() == "")
        #expect(connection.channel.isActive)
        connection.channel.isWritable = true
        connection.channel.pipeline.fireChannelWritabilityChanged()
        let text = try connection.written()
        #expect(text.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(text.contains("\r\n\r\naHTTP/1.1 400 Bad Request\r\n"))
        #expect(!connection.channel.isActive)
    }

    @Test func noMoreThanSixteenResponsesAreMadeAheadOfTheOneAwaited() throws {
        let connection = try EmbeddedConnection()
        try connection.send(String(repeating: "GET /later HTTP/1.1\r\n\r\n", count: 20))
        #expect(connection.later.value.count == 16)
        connection.later.value[0].succeed(.text(.ok, "first"))
        #expect(try connection.written().hasSuffix("\r\n\r\nfirst"))
        #expect(connection.later.value.count == 17)
        for promise in connection.later.value.dropFirst() { promise.succeed(.text(.ok, "x")) }
        #expect(connection.later.value.count == 20)
        for promise in connection.later.value.suffix(3) { promise.succeed(.text(.ok, "x")) }
        #expect(try connection.written().components(separatedBy: "HTTP/1.1 200 OK").count - 1 == 19)
        #expect(connection.channel.isActive)
    }

    @Test func responsesAreFramedLikeNIOsEncoderDid() throws {
        let connection = try EmbeddedConnection()
        try connection.send("GET /now/abc HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(try connection.written() == "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 3\r\n\r\nabc")
        try connection.send("HEAD /now/abc HTTP/1.1\r\n\r\n")
        #expect(try connection.written() == "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 3\r\n\r\n")
        try connection.send("POST /empty HTTP/1.1\r\nContent-Length: 0\r\n\r\n")
        #expect(try connection.written() == "HTTP/1.1 204 No Content\r\n\r\n")
        try connection.send("GET /now/x HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        #expect(try connection.written().hasPrefix("HTTP/1.0 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 1\r\nConnection: keep-alive\r\n\r\nx"))
        #expect(connection.channel.isActive)
        try connection.send("GET /now/y HTTP/1.0\r\n\r\n")
        #expect(try connection.written().contains("Connection: close\r\n\r\ny"))
        #expect(!connection.channel.isActive)
    }

    @Test func unknownPathsAndMethodsAreJSONWithAllow() throws {
        let connection = try EmbeddedConnection()
        try connection.send("GET /nope HTTP/1.1\r\n\r\nDELETE /later HTTP/1.1\r\n\r\n")
        let text = try connection.written()
        #expect(text.hasPrefix("HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\n"))
        #expect(text.contains(#""status":404"#))
        #expect(text.contains("HTTP/1.1 405 Method Not Allowed\r\nContent-Type: application/json\r\nAllow: GET, HEAD\r\n"))
        #expect(connection.channel.isActive)
    }

    @Test(arguments: [
        ("FOO / HTTP/1.1\r\n\r\n", "405 Method Not Allowed"),
        ("GET / HTTP/2.0\r\n\r\n", "400 Bad Request"),
        ("GET / HTTP/1.1\r\nX: " + String(repeating: "a", count: 9000) + "\r\n\r\n", "431 Request Header Fields Too Large"),
    ])
    func protocolErrorsAreJSONAndClose(request: String, status: String) throws {
        let connection = try EmbeddedConnection()
        try? connection.send(request)
        let text = try connection.written()
        #expect(text.hasPrefix("HTTP/1.1 \(status)\r\nContent-Type: application/json\r\n"), "\(text.prefix(80))")
        #expect(text.contains("Connection: close\r\n"))
        #expect(!connection.channel.isActive)
        let code = status.prefix(3)
        #expect(connection.exposition().contains(#"http_requests_total{method="OTHER",route="unmatched",code="\#(code)"} 1"#))
        // Refused before routing: counted, but kept out of the latency histogram.
        #expect(!connection.exposition().contains(#"http_request_duration_seconds_count{method="OTHER""#))
    }

    @Test func bodiesOverTheLimitGetAJSON413AnnouncedOrSent() throws {
        let announced = try EmbeddedConnection()
        try announced.send("POST /echo HTTP/1.1\r\nContent-Length: 65\r\n\r\n")
        #expect(try announced.written().hasPrefix("HTTP/1.1 413 Payload Too Large\r\nContent-Type: application/json\r\n"))
        #expect(!announced.channel.isActive)

        let chunked = try EmbeddedConnection()
        try chunked.send("POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n20\r\n" + String(repeating: "a", count: 32) + "\r\n")
        #expect(try chunked.written().isEmpty)
        try chunked.send("21\r\n" + String(repeating: "b", count: 33) + "\r\n0\r\n\r\n")
        let text = try chunked.written()
        #expect(text.hasPrefix("HTTP/1.1 413 Payload Too Large\r\n"))
        #expect(text.contains("at most 64 bytes"))

        let fits = try EmbeddedConnection()
        try fits.send("POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
        #expect(try fits.written().hasSuffix("Content-Length: 5\r\n\r\nabcde"))
    }

    @Test func aTrickledRequestGets408AtTheRequestTimeout() throws {
        let connection = try EmbeddedConnection(idleTimeout: .seconds(60), requestTimeout: .seconds(2))
        try connection.send("GET /now/a HT")
        connection.channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        try connection.send("TP/1.1\r\nX: ")
        #expect(try connection.written().isEmpty)
        connection.channel.embeddedEventLoop.advanceTime(by: .milliseconds(1100))
        let text = try connection.written()
        #expect(text.hasPrefix("HTTP/1.1 408 Request Timeout\r\nContent-Type: application/json\r\n"))
        #expect(text.contains("within 2 s of its first byte (--request-timeout)"))
        #expect(!connection.channel.isActive)
    }

    @Test func completeRequestsNeverTimeOutAndIdleConnectionsClose() throws {
        let connection = try EmbeddedConnection(idleTimeout: .seconds(5), requestTimeout: .seconds(2))
        for _ in 0..<5 {
            try connection.send("GET /now/a HTTP/1.1\r\n\r\n")
            #expect(try connection.written().hasSuffix("a"))
            connection.channel.embeddedEventLoop.advanceTime(by: .seconds(3))
        }
        #expect(connection.channel.isActive)
        connection.channel.embeddedEventLoop.advanceTime(by: .seconds(3))
        #expect(!connection.channel.isActive)
        #expect(try connection.written().isEmpty)
    }

    @Test func quiescingClosesAnIdleConnectionAtOnce() throws {
        let connection = try EmbeddedConnection()
        try connection.send("GET /now/a HTTP/1.1\r\n\r\n")
        _ = try connection.written()
        connection.channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        #expect(!connection.channel.isActive)
    }

    @Test func quiescingLetsTheResponseUnderWayFinishWithClose() throws {
        let connection = try EmbeddedConnection()
        try connection.send("GET /later HTTP/1.1\r\n\r\n")
        connection.channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        #expect(connection.channel.isActive)
        try #require(connection.later.value.first).succeed(.text(.ok, "done"))
        let text = try connection.written()
        #expect(text.contains("Connection: close\r\n\r\ndone"))
        #expect(!connection.channel.isActive)
    }

    @Test func routedRequestsAreCountedAndTimed() throws {
        let connection = try EmbeddedConnection()
        try connection.send("GET /now/a HTTP/1.1\r\n\r\nGET /now/b HTTP/1.1\r\n\r\nHEAD /now/c HTTP/1.1\r\n\r\n")
        _ = try connection.written()
        let text = connection.exposition()
        #expect(text.contains(#"http_requests_total{method="GET",route="/now/{text}",code="200"} 2"#))
        #expect(text.contains(#"http_requests_total{method="HEAD",route="/now/{text}",code="200"} 1"#))
        #expect(text.contains(#"http_request_duration_seconds_count{method="GET",route="/now/{text}"} 2"#))
    }
}
