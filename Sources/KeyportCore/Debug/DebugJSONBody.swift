import KeyportPorts

/// The top-level members of a small JSON object body (`{"error_rate": 0.5}`): the whole text is checked
/// against RFC 8259, nested values are checked and skipped, scalars are kept. Written by hand because
/// Foundation's JSONDecoder was the only reason the binary linked Foundation (and ICU) at all.
struct DebugJSONBody {
    /// A top-level member's value; nested objects and arrays are kept only as "something else".
    enum Value: Equatable {
        case number(String)
        case bool(Bool)
        case string(String)
        case null
        case nested
    }

    /// The body is not one JSON object.
    struct Invalid: Error {}

    /// Deeper nesting is refused rather than walked (a 20,000-deep array is an attack, not a setting).
    static let maxDepth = 32

    private(set) var members: [String: Value] = [:]

    init(_ bytes: some Collection<UInt8>) throws(Invalid) {
        var parser = Parser(bytes: Array(bytes))
        parser.skipWhitespace()
        guard parser.peek() == UInt8(ascii: "{") else { throw Invalid() }
        members = try parser.topLevelObject()
        parser.skipWhitespace()
        guard parser.atEnd else { throw Invalid() }
    }

    func double(_ name: String) -> Double? {
        guard case .number(let text)? = members[name] else { return nil }
        return Double(text)
    }

    /// Integers only: `1.5`, `1e3` and values beyond `Int` are refused.
    func integer(_ name: String) -> Int? {
        guard case .number(let text)? = members[name] else { return nil }
        return Int(text)
    }

    func bool(_ name: String) -> Bool? {
        guard case .bool(let value)? = members[name] else { return nil }
        return value
    }

    private struct Parser {
        let bytes: [UInt8]
        var offset = 0

        var atEnd: Bool { offset == bytes.count }
        func peek() -> UInt8? { offset < bytes.count ? bytes[offset] : nil }

        mutating func skipWhitespace() {
            while let byte = peek(), byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { offset += 1 }
        }

        mutating func expect(_ byte: UInt8) throws(Invalid) {
            guard peek() == byte else { throw Invalid() }
            offset += 1
        }

        mutating func topLevelObject() throws(Invalid) -> [String: Value] {
            var members: [String: Value] = [:]
            try object(depth: 1) { name, value in members[name] = value }
            return members
        }

        mutating func object(depth: Int, _ member: (String, Value) -> Void) throws(Invalid) {
            guard depth <= DebugJSONBody.maxDepth else { throw Invalid() }
            try expect(UInt8(ascii: "{"))
            skipWhitespace()
            if peek() == UInt8(ascii: "}") { offset += 1; return }
            while true {
                skipWhitespace()
                let name = try string()
                skipWhitespace()
                try expect(UInt8(ascii: ":"))
                skipWhitespace()
                member(name, try value(depth: depth))
                skipWhitespace()
                if peek() == UInt8(ascii: ",") { offset += 1; continue }
                try expect(UInt8(ascii: "}"))
                return
            }
        }

        mutating func array(depth: Int) throws(Invalid) {
            guard depth <= DebugJSONBody.maxDepth else { throw Invalid() }
            try expect(UInt8(ascii: "["))
            skipWhitespace()
            if peek() == UInt8(ascii: "]") { offset += 1; return }
            while true {
                skipWhitespace()
                _ = try value(depth: depth)
                skipWhitespace()
                if peek() == UInt8(ascii: ",") { offset += 1; continue }
                try expect(UInt8(ascii: "]"))
                return
            }
        }

        mutating func value(depth: Int) throws(Invalid) -> Value {
            switch peek() {
            case UInt8(ascii: "{"): try object(depth: depth + 1) { _, _ in }; return .nested
            case UInt8(ascii: "["): try array(depth: depth + 1); return .nested
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"): try literal("true"); return .bool(true)
            case UInt8(ascii: "f"): try literal("false"); return .bool(false)
            case UInt8(ascii: "n"): try literal("null"); return .null
            default: return .number(try number())
            }
        }

        mutating func literal(_ word: StaticString) throws(Invalid) {
            for index in 0..<word.utf8CodeUnitCount { try expect(word.utf8Start[index]) }
        }

        /// `-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?`
        mutating func number() throws(Invalid) -> String {
            let start = offset
            if peek() == UInt8(ascii: "-") { offset += 1 }
            if peek() == UInt8(ascii: "0") {
                offset += 1
            } else {
                guard try digits() > 0 else { throw Invalid() }
            }
            if peek() == UInt8(ascii: ".") {
                offset += 1
                guard try digits() > 0 else { throw Invalid() }
            }
            if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
                offset += 1
                if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") { offset += 1 }
                guard try digits() > 0 else { throw Invalid() }
            }
            return String(decoding: bytes[start..<offset], as: UTF8.self)
        }

        mutating func digits() throws(Invalid) -> Int {
            var count = 0
            while let byte = peek(), byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") { offset += 1; count += 1 }
            return count
        }

        mutating func string() throws(Invalid) -> String {
            try expect(UInt8(ascii: "\""))
            var out: [UInt8] = []
            while true {
                guard let byte = peek() else { throw Invalid() }
                offset += 1
                switch byte {
                case UInt8(ascii: "\""):
                    guard let decoded = String(validating: out, as: UTF8.self) else { throw Invalid() }
                    return decoded
                case UInt8(ascii: "\\"):
                    guard let escaped = peek() else { throw Invalid() }
                    offset += 1
                    switch escaped {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(escaped)
                    case UInt8(ascii: "b"): out.append(0x08)
                    case UInt8(ascii: "f"): out.append(0x0C)
                    case UInt8(ascii: "n"): out.append(0x0A)
                    case UInt8(ascii: "r"): out.append(0x0D)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "u"):
                        var scalar: UInt32 = 0
                        for _ in 0..<4 {
                            guard let digit = peek().flatMap(ASCIIHex.value) else { throw Invalid() }
                            offset += 1
                            scalar = scalar << 4 | UInt32(digit)
                        }
                        // Member names here are ASCII; a surrogate or other odd scalar becomes U+FFFD.
                        out.append(contentsOf: String(Unicode.Scalar(scalar) ?? "\u{FFFD}").utf8)
                    default: throw Invalid()
                    }
                case 0x00..<0x20:
                    throw Invalid()
                default:
                    out.append(byte)
                }
            }
        }
    }
}
