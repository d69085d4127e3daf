/// Hexadecimal digits as ASCII bytes: the one digit table and the one digit parser every caller uses
/// (key encoding, JSON `\u00XX` escapes, parser messages, percent decoding, `\uXXXX` parsing).
public enum ASCIIHex {
    /// The sixteen lowercase digits; uppercase ones are derived from it.
    public static let digits: StaticString = "0123456789abcdef"

    /// The lowercase ASCII digit for the low four bits of `nibble`.
    @inlinable
    public static func digit(_ nibble: UInt8) -> UInt8 {
        digits.utf8Start[Int(nibble & 0x0F)]
    }

    /// The uppercase ASCII digit for the low four bits of `nibble`.
    @inlinable
    public static func uppercaseDigit(_ nibble: UInt8) -> UInt8 {
        let lower = digit(nibble)
        return lower >= UInt8(ascii: "a") ? lower - 0x20 : lower
    }

    /// The value of one hex digit (either case), `nil` for any other byte.
    @inlinable
    public static func value(of byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// Writes `source` as lowercase hex into `destination`, which holds at least `2 × source.count` bytes.
    @inlinable
    public static func encode(_ source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer) {
        precondition(destination.count >= source.count * 2)
        for (index, byte) in source.enumerated() {
            destination[2 * index] = digit(byte >> 4)
            destination[2 * index + 1] = digit(byte)
        }
    }

    /// `value`'s low `count` nibbles as uppercase digits, most significant first (for messages: `00E9`).
    public static func uppercase(_ value: UInt32, count: Int) -> String {
        String(decoding: (0..<count).reversed().map { uppercaseDigit(UInt8(truncatingIfNeeded: value >> (UInt32($0) * 4))) }, as: UTF8.self)
    }
}
