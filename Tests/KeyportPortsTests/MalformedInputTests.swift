import Foundation
import Testing

@testable import KeyportPorts

/// One malformed input and the error it must give.
struct Malformed: CustomTestStringConvertible, Sendable {
    let name: String
    let input: [UInt8]
    /// The offset, or a marker whose first occurrence in the input is the offset.
    let offset: Int?
    let kind: PortsLoadError.Kind
    let message: String
    let record: String?

    init(_ name: String, _ input: [UInt8], at offset: Int?, _ kind: PortsLoadError.Kind, _ message: String, record: String? = nil) {
        self.name = name
        self.input = input
        self.offset = offset
        self.kind = kind
        self.message = message
        self.record = record
    }

    /// `marker` is a piece of the input whose first (or last) occurrence is the offset; `Malformed.end` is the end.
    init(_ name: String, _ text: String, at marker: String, last: Bool = false, _ kind: PortsLoadError.Kind, _ message: String,
         record: String? = nil) {
        let input = bytes(text)
        let needle = bytes(marker)
        let starts = marker == Malformed.end ? [input.count]
            : (0...(input.count - needle.count)).filter { Array(input[$0..<$0 + needle.count]) == needle }
        precondition(!starts.isEmpty, "marker \(marker) not in \(text)")
        self.init(name, input, at: last ? starts.last : starts.first, kind, message, record: record)
    }

    static let end = "<end of input>"

    var testDescription: String { name }
}

let good = body()

let malformedCases: [Malformed] = [
    Malformed("empty file", [], at: 0, .syntax, "empty input: expected a JSON object of port records keyed by id"),
    Malformed("only whitespace", bytes(" \n\t\r\n"), at: 5, .syntax, "only whitespace"),
    Malformed("top level array", bytes(" [{\"A\": 1}]"), at: 1, .schema,
              "the top level must be a JSON object of port records keyed by id, found an array"),
    Malformed("top level string", bytes("\"ports\""), at: 0, .schema, "top level must be a JSON object"),
    Malformed("top level garbage", bytes("ports"), at: 0, .syntax, "found 'p'"),
    Malformed("truncated in a value", "{\"AEAJM\": {\"name\": \"Aj", at: Malformed.end, .syntax,
              "unexpected end of input in a string that starts at byte 19", record: "AEAJM"),
    Malformed("truncated after a record", "{\"A\": \(good)", at: Malformed.end, .syntax,
              "expected ',' or '}' after record \"A\", found end of input", record: "A"),
    Malformed("truncated in a number", "{\"A\": {\"coordinates\": [1.", at: Malformed.end, .syntax,
              "invalid number: expected a digit after '.', found end of input", record: "A"),
    Malformed("trailing garbage", "{\"A\": \(good)} x", at: "x", .syntax,
              "unexpected 'x' after the top-level object (only whitespace may follow it)"),
    Malformed("two top-level objects", "{}{}", at: "{}", last: true, .syntax, "unexpected '{' after the top-level object (only whitespace may follow it)"),
    Malformed("missing colon", "{\n  \"AEAUH\" {", at: "{", last: true, .syntax, "expected ':' after key \"AEAUH\", found an object", record: "AEAUH"),
    Malformed("record id not a string", "{AEAJM: {}}", at: "A", .syntax, "expected a record id (a string key), found 'A'"),
    Malformed("trailing comma after last record", "{\"A\": \(good),}", at: "}", last: true, .syntax,
              "expected a record id (a string key), found '}'", record: "A"),
    Malformed("record is an array", "{\"A\": []}", at: "[", .schema, "record \"A\" must be an object, found an array", record: "A"),
    Malformed("record is null", "{\"A\": null}", at: "null", .schema, "record \"A\" must be an object, found null", record: "A"),
    Malformed("empty id", "{\"\": \(good)}", at: "\"\"", .schema, "a record id must not be empty"),
    Malformed("name is a number", "{\"A\": {\"name\": 12, \"city\": \"c\", \"country\": \"d\"}}", at: "12", .schema,
              "field \"name\" of record \"A\" must be a string, found a number", record: "A"),
    Malformed("code is a number", "{\"A\": {\"code\": 52000}}", at: "52000", .schema,
              "field \"code\" of record \"A\" must be a string, found a number", record: "A"),
    Malformed("province is an object", "{\"A\": {\"province\": {}}}", at: "{}", .schema,
              "field \"province\" of record \"A\" must be a string, found an object", record: "A"),
    Malformed("alias is a string", "{\"A\": {\"alias\": \"x\"}}", at: "\"x\"", .schema,
              "field \"alias\" of record \"A\" must be an array of strings, found a string", record: "A"),
    Malformed("unlocs holds a number", "{\"A\": {\"unlocs\": [\"A\", 2]}}", at: "2]", .schema,
              "field \"unlocs\" of record \"A\" must be an array of strings, found a number in it", record: "A"),
    Malformed("regions holds null", "{\"A\": {\"regions\": [null]}}", at: "null", .schema,
              "field \"regions\" of record \"A\" must be an array of strings, found null in it", record: "A"),
    Malformed("coordinates is a string", "{\"A\": {\"coordinates\": \"1,2\"}}", at: "\"1,2\"", .schema,
              "field \"coordinates\" of record \"A\" must be [lon, lat] (an array of 2 numbers), found a string", record: "A"),
    Malformed("coordinates with 3 numbers", "{\"A\": {\"coordinates\": [1, 2, 3]}}", at: "3]", .schema,
              "found more than 2 numbers", record: "A"),
    Malformed("coordinates with 1 number", "{\"A\": {\"coordinates\": [1]}}", at: "[1]", .schema, "found 1 number", record: "A"),
    Malformed("coordinates empty", "{\"A\": {\"coordinates\": []}}", at: "[]", .schema, "found 0 numbers", record: "A"),
    Malformed("coordinates hold a string", "{\"A\": {\"coordinates\": [1, \"2\"]}}", at: "\"2\"", .schema,
              "found a string in it", record: "A"),
    Malformed("missing city", "{\"A\": {\"name\": \"n\", \"country\": \"d\"}, \"B\": \(good)}", at: "{\"name\"", .schema,
              "record \"A\" has no \"city\" (name, city and country are required strings; null counts as missing)", record: "A"),
    Malformed("null name", "{\"A\": {\"name\": null, \"city\": \"c\", \"country\": \"d\"}}", at: "{\"name\"", .schema,
              "record \"A\" has no \"name\"", record: "A"),
    Malformed("missing comma between fields", "{\"A\": {\"name\": \"n\" \"city\": \"c\"}}", at: "\"city\"", .syntax,
              "expected ',' or '}' after field \"name\" in record \"A\", found a string", record: "A"),
    Malformed("trailing comma in a record", "{\"A\": {\"name\": \"n\",}}", at: "}}", .syntax,
              "expected a field name (a string) in record \"A\", found '}'", record: "A"),
    Malformed("invalid UTF-8 in a value", [UInt8]("{\"A\": {\"name\": \"a".utf8) + [0xC3, 0x28] + bytes("\"}}"), at: 17, .encoding,
              "invalid UTF-8: byte 0xC3 is followed by 0x28, which cannot continue it", record: "A"),
    Malformed("invalid UTF-8 in an id", bytes("{\"A") + [0xFF] + bytes("\": {}}"), at: 3, .encoding,
              "invalid UTF-8: byte 0xFF cannot start a character"),
    Malformed("invalid UTF-8 in a skipped value", bytes("{\"A\": {\"x\": [\"") + [0x80] + bytes("\"]}}"), at: 14, .encoding,
              "byte 0x80 cannot start a character", record: "A"),
    Malformed("invalid UTF-8 in a field name", bytes("{\"A\": {\"") + [0xE2, 0x82] + bytes("\": 1}}"), at: 8, .encoding,
              "byte 0xE2 is followed by 0x22", record: "A"),
    Malformed("overlong UTF-8", bytes("{\"A\": {\"name\": \"") + [0xC0, 0xAF] + bytes("\"}}"), at: 16, .encoding,
              "byte 0xC0 cannot start a character", record: "A"),
    Malformed("UTF-8 encoded surrogate", bytes("{\"A\": {\"name\": \"") + [0xED, 0xA0, 0x80] + bytes("\"}}"), at: 16, .encoding,
              "byte 0xED is followed by 0xA0", record: "A"),
    Malformed("UTF-8 above U+10FFFF", bytes("{\"A\": {\"name\": \"") + [0xF4, 0x90, 0x80, 0x80] + bytes("\"}}"), at: 16, .encoding,
              "byte 0xF4 is followed by 0x90", record: "A"),
    Malformed("invalid UTF-8 between tokens", bytes("{\"A\": ") + [0xFF] + bytes("}"), at: 6, .syntax,
              "record \"A\" must be an object, found byte 0xFF", record: "A"),
    Malformed("lone high surrogate", #"{"A": {"name": "x\uD83Dy"}}"#, at: "\\uD83D", .encoding,
              "lone surrogate \\uD83D in a string (a high surrogate must be followed by a low surrogate \\uDC00-\\uDFFF)", record: "A"),
    Malformed("lone low surrogate", #"{"A": {"name": "\uDE00"}}"#, at: "\\uDE00", .encoding, "lone surrogate \\uDE00", record: "A"),
    Malformed("high surrogate then a letter escape", #"{"A": {"name": "\uD83D\u0041"}}"#, at: "\\uD83D", .encoding,
              "followed by \\u0041, not a low surrogate", record: "A"),
    Malformed("lone surrogate in an id", #"{"\uDBFF": {}}"#, at: "\\uDBFF", .encoding, "lone surrogate \\uDBFF"),
    Malformed("raw tab in a string", "{\"A\": {\"name\": \"a\tb\"}}", at: "\t", .encoding,
              "raw control character U+0009 in a string (control characters must be escaped, e.g. \\n or \\u0001)", record: "A"),
    Malformed("raw newline in a string", "{\"A\": {\"city\": \"a\nb\"}}", at: "\n", .encoding, "raw control character U+000A", record: "A"),
    Malformed("raw NUL in a string", bytes("{\"A\": {\"city\": \"a") + [0] + bytes("\"}}"), at: 17, .encoding, "U+0000", record: "A"),
    Malformed("invalid escape", #"{"A": {"name": "a\xb"}}"#, at: "\\x", .syntax, "invalid escape \\'x' in a string", record: "A"),
    Malformed("bad unicode escape", #"{"A": {"name": "\u12G4"}}"#, at: "G", .syntax, "invalid \\u escape: expected 4 hex digits, found 'G'", record: "A"),
    Malformed("leading zero", "{\"A\": {\"coordinates\": [01, 2]}}", at: "1, 2", .syntax, "a leading zero", record: "A"),
    Malformed("plus sign", "{\"A\": {\"coordinates\": [+1, 2]}}", at: "+1", .syntax, "found '+'", record: "A"),
    Malformed("bare fraction", "{\"A\": {\"coordinates\": [.5, 2]}}", at: ".5", .syntax, "found '.'", record: "A"),
    Malformed("empty exponent", "{\"A\": {\"coordinates\": [1e, 2]}}", at: ", 2", .syntax, "expected a digit in the exponent, found ','", record: "A"),
    Malformed("lone minus", "{\"A\": {\"x\": -}}", at: "}}", .syntax, "expected a digit after '-', found '}'", record: "A"),
    Malformed("NaN", "{\"A\": {\"x\": NaN}}", at: "NaN", .syntax, "expected a value in field \"x\" of record \"A\", found 'N'", record: "A"),
    Malformed("bad literal", "{\"A\": {\"province\": nul}}", at: "nul", .syntax, "invalid literal: expected null", record: "A"),
    Malformed("mismatched brackets in a skipped value", "{\"A\": {\"x\": [1, {\"a\": 2]}}", at: "]}}", .syntax,
              "expected ',' or '}' in an object in field \"x\" of record \"A\", found ']'", record: "A"),
    Malformed("unclosed deep nesting", "{\"A\": {\"x\": " + String(repeating: "[", count: 1_000_000), at: Malformed.end, .syntax,
              "found end of input", record: "A"),
]

struct MalformedInputTests {
    @Test(arguments: malformedCases)
    func givesAClearError(_ testCase: Malformed) throws {
        let error = try #require(parseError(testCase.input), "\(testCase.name) parsed without an error")
        #expect(error.offset == testCase.offset)
        #expect(error.kind == testCase.kind)
        #expect(error.message.contains(testCase.message), "\(error.message)")
        #expect(error.recordID == testCase.record)
        #expect(error.source == "test.json")
        #expect(error.description.hasPrefix("test.json: byte \(error.offset!) (line "))
        // Any chunking gives the very same error: offsets do not depend on where reads end.
        for chunk in [1, 2, 3, 5, 64] {
            #expect(parseError(testCase.input, chunk: chunk) == error, "chunk \(chunk)")
        }
    }

    @Test func descriptionNamesFileOffsetLineColumnAndRecord() throws {
        let error = try #require(parseError(bytes("{\n  \"AEAJM\": \(good),\n  \"AEAUH\" {")))
        #expect(error.description == "test.json: byte \(13 + good.utf8.count + 12) (line 3, column 11): expected ':' after key \"AEAUH\", found an object")
        #expect(error.line == 3 && error.column == 11)
        #expect(error.recordID == "AEAUH")
    }

    @Test func columnsCountCharactersNotBytes() throws {
        let error = try #require(parseError(bytes("{\"é€😀\": 1}")))
        #expect(error.line == 1)
        #expect(error.column == 9)
        #expect(error.offset == 14)
    }

    @Test func recordLargerThanTheLimit() throws {
        let text = "{\"A\": \(good), \"BIG\": \(body(String(repeating: "x", count: 100_000)))}"
        let error = try #require(parseError(bytes(text), chunk: 1000, maxRecordBytes: 10_000))
        #expect(error.kind == .limit)
        #expect(error.recordID == "BIG")
        #expect(error.message == "record \"BIG\" is larger than the limit of 10000 bytes")
        #expect(try parse(bytes(text), chunk: 1000, maxRecordBytes: 200_000).count == 2)
    }

    @Test func brokenByteOrderMark() throws {
        let error = try #require(parseError([0xEF, 0xBB, 0x7B, 0x7D]))
        #expect(error.offset == 2)
        #expect(error.kind == .encoding)
    }
}
