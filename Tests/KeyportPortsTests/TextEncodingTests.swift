import KeyportPorts
import Testing

/// The one hex table/parser and the one JSON string escaper that every writer and parser uses.
@Suite struct TextEncodingTests {
    @Test func hexDigitsAndValuesRoundTrip() {
        for nibble in UInt8(0)..<16 {
            #expect(ASCIIHex.value(of: ASCIIHex.digit(nibble)) == nibble)
            #expect(ASCIIHex.value(of: ASCIIHex.uppercaseDigit(nibble)) == nibble)
        }
        #expect(ASCIIHex.digit(0x0A) == UInt8(ascii: "a"))
        #expect(ASCIIHex.uppercaseDigit(0x0F) == UInt8(ascii: "F"))
        for byte in [UInt8(ascii: "g"), UInt8(ascii: "G"), UInt8(ascii: "/"), UInt8(ascii: ":"), UInt8(ascii: "@"), 0, 0xFF] {
            #expect(ASCIIHex.value(of: byte) == nil)
        }
        #expect(ASCIIHex.uppercase(0xE9, count: 4) == "00E9")
    }

    @Test func hexEncodesEveryByte() {
        let source = (0...255).map { UInt8($0) }
        var out = [UInt8](repeating: 0, count: 512)
        source.withUnsafeBytes { input in out.withUnsafeMutableBytes { ASCIIHex.encode(input, into: $0) } }
        #expect(String(decoding: out[0..<8], as: UTF8.self) == "00010203")
        #expect(String(decoding: out[508..<512], as: UTF8.self) == "feff")
    }

    @Test func jsonEscapesQuotesBackslashesAndControls() {
        var out: [UInt8] = []
        JSONStringEscaper.appendQuoted("a\"b\\c\n\r\t\u{08}\u{0C}\u{01}é", to: &out)
        #expect(String(decoding: out, as: UTF8.self) == #""a\"b\\c\n\r\t\b\f\u0001é""#)
        out = []
        JSONStringEscaper.appendQuoted("", to: &out)
        #expect(out == Array(#""""#.utf8))
    }
}
