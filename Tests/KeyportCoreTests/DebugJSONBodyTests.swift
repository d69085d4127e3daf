@testable import KeyportCore
import KeyportPorts
import NIOCore
import Testing

/// The debug endpoints' JSON reader: the ports parser's lexing (`JSONObjectMembers`) on a request body.
@Suite struct DebugJSONBodyTests {
    private func body(_ text: String) throws(PortsLoadError) -> DebugJSONBody {
        try DebugJSONBody(Array(text.utf8))
    }

    @Test func readsTopLevelScalarsAndSkipsTheRest() throws {
        let parsed = try body(#" {"error_rate": 0.25, "ready": false, "bytes": -12, "x": {"y": [1, "\u00e9", null]}, "s": "a\"b"} "#)
        #expect(parsed.double("error_rate") == 0.25)
        #expect(parsed.bool("ready") == false)
        #expect(parsed.integer("bytes") == -12)
        #expect(parsed.members["x"] == .nested)
        #expect(parsed.members["s"] == .string("a\"b"))
        #expect(parsed.double("missing") == nil)
        #expect(parsed.integer("error_rate") == nil)
        #expect(parsed.bool("bytes") == nil)
        #expect(try body(#"{"bytes": 1, "bytes": 2}"#).integer("bytes") == 2)
        #expect(try body(#"{"error_rate": 1e-1}"#).double("error_rate") == 0.1)
        #expect(try body(#"{"a": null, "b": true, "\u00e9": "\ud83d\ude00"}"#).members == ["a": .null, "b": .bool(true), "é": .string("😀")])
    }

    @Test(arguments: [
        "", "true", "[]", "{", "{\"a\"}", "{\"a\": }", "{\"a\": 1,}", "{\"a\": NaN}", "{\"a\": 01}", "{\"a\": 1.}",
        "{\"a\": -}", "{\"a\": tru}", "{\"a\": \"x}", "{\"a\": 1} x", "{\"a\": \"\u{01}\"}", "{\"a\": \"\\q\"}",
        "{\"a\": \"\\ud800\"}", "{\"a\": [1 2]}", "{\"a\": {\"b\" 1}}",
        "{\"a\": " + String(repeating: "[", count: 20_000),
    ])
    func refusesWhatIsNotOneJSONObject(text: String) {
        #expect(throws: PortsLoadError.self) { try body(text) }
    }

    /// The parser's own messages, with the byte offset, name what was wrong and where.
    @Test(arguments: [
        (#"{"a": 01}"#, 7, "invalid number: a leading zero must not be followed by digits"),
        (#"{"a": [1 2]}"#, 9, #"expected ',' or ']' in an array in member "a", found a number"#),
        (#"{"a": 1} x"#, 9, "unexpected 'x' after the object (only whitespace may follow it)"),
        ("[]", 0, "expected a JSON object, found an array"),
        (#"{"a" 1}"#, 5, #"expected ':' after member "a", found a number"#),
    ])
    func errorsSayWhatAndWhere(text: String, offset: Int, message: String) throws {
        let error = try #require(throws: PortsLoadError.self) { try body(text) }
        #expect(error.offset == offset)
        #expect(error.message == message)
        #expect(error.source == "request body")
    }

    /// Nesting costs the parser a bit per level, so any depth of a well-formed value is read and skipped.
    @Test func deepWellFormedNestingIsSkipped() throws {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(try body(#"{"x": \#(deep), "ready": true}"#).members == ["x": .nested, "ready": .bool(true)])
    }

    @Test func integersBeyondIntAreNotIntegers() throws {
        #expect(try body(#"{"bytes": 99999999999999999999}"#).integer("bytes") == nil)
        #expect(try body(#"{"bytes": 1.5}"#).integer("bytes") == nil)
    }

    /// The endpoint's 400 carries the parser's reason and offset, and the example of what is accepted.
    @Test func theEndpointNamesTheParsersReason() throws {
        let endpoints = DebugEndpoints(faults: FaultInjection(), readiness: Readiness(metrics: nil), threadPool: .singleton, cgroupLimit: nil)
        let request = Request(method: .POST, uri: "/debug/fault", body: ByteBuffer(string: #"{"error_rate": NaN}"#))
        let error = try #require(throws: HTTPError.self) { try endpoints.fault(request) }
        #expect(error.status == .badRequest)
        #expect(error.message == #"invalid JSON body: byte 15: expected a value in member "error_rate", found 'N'; expected an object like {"error_rate": 0.5, "delay_ms": 300}"#)
    }
}
