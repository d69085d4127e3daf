@testable import KeyportCore
import Testing

/// The debug endpoints' JSON reader, which replaced Foundation's JSONDecoder.
@Suite struct DebugJSONBodyTests {
    private func body(_ text: String) throws(DebugJSONBody.Invalid) -> DebugJSONBody {
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
    }

    @Test(arguments: [
        "", "true", "[]", "{", "{\"a\"}", "{\"a\": }", "{\"a\": 1,}", "{\"a\": NaN}", "{\"a\": 01}", "{\"a\": 1.}",
        "{\"a\": -}", "{\"a\": tru}", "{\"a\": \"x}", "{\"a\": 1} x", "{\"a\": \"\u{01}\"}", "{\"a\": \"\\q\"}",
        "{\"a\": " + String(repeating: "[", count: 20_000),
    ])
    func refusesWhatIsNotOneJSONObject(text: String) {
        #expect(throws: DebugJSONBody.Invalid.self) { try body(text) }
    }

    @Test func integersBeyondIntAreNotIntegers() throws {
        #expect(try body(#"{"bytes": 99999999999999999999}"#).integer("bytes") == nil)
        #expect(try body(#"{"bytes": 1.5}"#).integer("bytes") == nil)
    }
}
