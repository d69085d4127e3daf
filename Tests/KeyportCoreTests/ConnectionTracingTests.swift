import InMemoryTracing
@testable import KeyportCore
import Logging
import NIOCore
import NIOEmbedded
import Testing
import Tracing

/// The connection handler's tracing hook on an `EmbeddedChannel`: one server span per routed request,
/// ended in response order with the status; none for refused requests; abandoned ones end as errors.
@Suite struct ConnectionTracingTests {
    @Test func aRoutedRequestHasAServerSpanWithTheHTTPAttributes() throws {
        let connection = try EmbeddedConnection(traced: true, scheme: "https")
        try connection.send("GET /now/abc?x=1 HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(try connection.written().hasSuffix("\r\n\r\nabc"))
        let span = try #require(connection.finished.first)
        #expect(connection.finished.count == 1)
        #expect(span.operationName == "GET /now/{text}")
        #expect(span.kind == .server)
        #expect(span.attributes.get("http.request.method") == .string("GET"))
        #expect(span.attributes.get("http.route") == .string("/now/{text}"))
        #expect(span.attributes.get("url.path") == .string("/now/abc"))
        #expect(span.attributes.get("url.scheme") == .string("https"))
        #expect(span.attributes.get("network.protocol.version") == .string("1.1"))
        #expect(span.attributes.get("http.response.status_code") == .int64(200))
        #expect(span.attributes.get("error.type") == nil)
        #expect(span.status == nil)
    }

    @Test func pipelinedSpansEndInResponseOrderAndHEADIsNamedHEAD() throws {
        let connection = try EmbeddedConnection(traced: true)
        try connection.send("GET /now/a HTTP/1.1\r\n\r\nGET /later HTTP/1.1\r\n\r\nHEAD /now/b HTTP/1.1\r\n\r\n")
        _ = try connection.written()
        // The third is answered but queued behind /later: its span is still open.
        #expect(connection.finished.map(\.operationName) == ["GET /now/{text}"])
        try #require(connection.later.value.first).succeed(.text(.ok, "L"))
        let rest = try connection.written()
        #expect(rest.contains("\r\n\r\nL"))
        #expect(connection.finished.map(\.operationName) == ["GET /now/{text}", "GET /later", "HEAD /now/{text}"])
        #expect(connection.finished[2].attributes.get("http.request.method") == .string("HEAD"))
    }

    @Test func a5xxIsAnErrorAndAnUnmatchedPathHasNoRoute() throws {
        let connection = try EmbeddedConnection(traced: true)
        try connection.send("GET /fail HTTP/1.1\r\n\r\nGET /nowhere HTTP/1.1\r\n\r\n")
        _ = try connection.written()
        let failed = connection.finished[0]
        #expect(failed.status?.code == .error)
        #expect(failed.attributes.get("error.type") == .string("503"))
        let unmatched = connection.finished[1]
        #expect(unmatched.operationName == "GET")
        #expect(unmatched.attributes.get("http.route") == nil)
        #expect(unmatched.attributes.get("http.response.status_code") == .int64(404))
        #expect(unmatched.status == nil)
    }

    @Test func requestsRefusedBeforeRoutingHaveNoSpan() throws {
        let connection = try EmbeddedConnection(traced: true)
        try connection.send("POST /now/a HTTP/1.1\r\nContent-Length: 100\r\n\r\n")
        #expect(try connection.written().hasPrefix("HTTP/1.1 413 "))
        #expect(connection.finished.isEmpty)
        #expect(connection.tracer.activeSpans.isEmpty)
    }

    @Test func aConnectionClosedBeforeTheResponseEndsItsSpanAsAnError() throws {
        let connection = try EmbeddedConnection(traced: true)
        try connection.send("GET /later HTTP/1.1\r\n\r\n")
        #expect(connection.tracer.activeSpans.count == 1)
        try connection.channel.close().wait()
        #expect(connection.tracer.activeSpans.isEmpty)
        let span = try #require(connection.finished.first)
        #expect(span.status?.code == .error)
        #expect(span.attributes.get("error.type") == .string("connection_closed"))
        // The late answer finds nothing to write and no span to end twice.
        try #require(connection.later.value.first).succeed(.text(.ok, "L"))
        #expect(connection.finished.count == 1)
    }

    @Test func withTracingOffNoSpanIsStarted() throws {
        let connection = try EmbeddedConnection()
        try connection.send("GET /now/a HTTP/1.1\r\n\r\nGET /fail HTTP/1.1\r\n\r\n")
        #expect(try connection.written().contains("503"))
        #expect(connection.finished.isEmpty)
        #expect(connection.tracer.activeSpans.isEmpty)
    }
}
