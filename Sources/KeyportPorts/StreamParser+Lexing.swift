/// Lexing: strings (escapes, UTF-8 validation), numbers and literals, appended to a sink.
extension StreamParser {
    @inline(__always)
    mutating func append(_ sink: Sink, _ bytes: UnsafePointer<UInt8>, _ n: Int) {
        switch sink {
        case .discard: break
        case .id: id.append(bytes, count: n)
        case .key: key.append(bytes, count: n)
        case .values: values.append(bytes, count: n)
        }
    }

    @inline(__always)
    mutating func append(_ sink: Sink, _ byte: UInt8) {
        switch sink {
        case .discard: break
        case .id: id.append(byte)
        case .key: key.append(byte)
        case .values: values.append(byte)
        }
    }

    /// At `"`: reads a string, unescaping it and validating its UTF-8.
    mutating func readString(_ sink: Sink) throws(PortsLoadError) {
        let startOffset = offset
        pos += 1
        while true {
            let p = buffer
            var i = pos
            let e = end
            i = SWAR.firstStringStop(p, from: i, to: e)
            if i > pos { append(sink, p + pos, i - pos) }
            pos = i
            if i == e {
                try checkRecordSize()
                guard try refill() else {
                    throw fail(.syntax, at: offset, "unexpected end of input in a string that starts at byte \(startOffset)")
                }
                continue
            }
            let c = p[i]
            if c == ASCII.quote {
                pos = i + 1
                return
            }
            if c == ASCII.backslash {
                try readEscape(sink)
            } else if c < 0x20 {
                throw fail(.encoding, at: offset,
                    "raw control character \(hexScalar(UInt32(c))) in a string (control characters must be escaped, e.g. \\n or \\u0001)")
            } else {
                try readMultibyte(sink)
            }
        }
    }

    /// At a byte >= 0x80 inside a string: one well-formed UTF-8 sequence (RFC 3629: no overlongs, no surrogates).
    mutating func readMultibyte(_ sink: Sink) throws(PortsLoadError) {
        let leadOffset = offset
        let lead = buffer[pos]
        var low: UInt8 = 0x80
        var high: UInt8 = 0xBF
        let continuation: Int
        switch lead {
        case 0xC2...0xDF: continuation = 1
        case 0xE0: continuation = 2; low = 0xA0
        case 0xE1...0xEC, 0xEE, 0xEF: continuation = 2
        case 0xED: continuation = 2; high = 0x9F
        case 0xF0: continuation = 3; low = 0x90
        case 0xF1...0xF3: continuation = 3
        case 0xF4: continuation = 3; high = 0x8F
        default:
            throw fail(.encoding, at: leadOffset, "invalid UTF-8: byte \(hexByte(lead)) cannot start a character")
        }
        pos += 1
        append(sink, lead)
        for k in 0..<continuation {
            guard let c = try nextByte() else {
                throw fail(.syntax, at: offset, "unexpected end of input in a UTF-8 sequence that starts at byte \(leadOffset)")
            }
            let range = k == 0 ? low...high : 0x80...0xBF
            guard range.contains(c) else {
                throw fail(.encoding, at: leadOffset,
                    "invalid UTF-8: byte \(hexByte(lead)) is followed by \(hexByte(c)), which cannot continue it")
            }
            append(sink, c)
        }
    }

    /// At `\`: one escape; `\u` pairs must form a whole surrogate pair.
    mutating func readEscape(_ sink: Sink) throws(PortsLoadError) {
        let escapeOffset = offset
        pos += 1
        guard let c = try nextByte() else {
            throw fail(.syntax, at: offset, "unexpected end of input in an escape sequence")
        }
        let simple: UInt8
        switch c {
        case ASCII.quote, ASCII.backslash, UInt8(ascii: "/"): simple = c
        case UInt8(ascii: "b"): simple = 0x08
        case UInt8(ascii: "f"): simple = 0x0C
        case UInt8(ascii: "n"): simple = 0x0A
        case UInt8(ascii: "r"): simple = 0x0D
        case UInt8(ascii: "t"): simple = 0x09
        case UInt8(ascii: "u"):
            var scalar = try readHex4(escapeOffset)
            if (0xDC00...0xDFFF).contains(scalar) {
                throw fail(.encoding, at: escapeOffset,
                    "lone surrogate \\u\(hex4(scalar)) in a string (a low surrogate must follow a high surrogate \\uD800-\\uDBFF)")
            }
            if (0xD800...0xDBFF).contains(scalar) {
                let secondOffset = offset
                let backslash = try nextByte()
                let u = try nextByte()
                guard backslash == ASCII.backslash, u == UInt8(ascii: "u") else {
                    throw fail(.encoding, at: escapeOffset,
                        "lone surrogate \\u\(hex4(scalar)) in a string (a high surrogate must be followed by a low surrogate \\uDC00-\\uDFFF)")
                }
                let low = try readHex4(secondOffset)
                guard (0xDC00...0xDFFF).contains(low) else {
                    throw fail(.encoding, at: escapeOffset,
                        "lone surrogate \\u\(hex4(scalar)) in a string (followed by \\u\(hex4(low)), not a low surrogate \\uDC00-\\uDFFF)")
                }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            }
            appendUTF8(sink, scalar)
            return
        default:
            throw fail(.syntax, at: escapeOffset,
                "invalid escape \\\(describeRaw(c)) in a string (allowed: \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)")
        }
        append(sink, simple)
    }

    mutating func readHex4(_ escapeOffset: Int) throws(PortsLoadError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            let at = offset
            guard let c = try nextByte() else {
                throw fail(.syntax, at: offset, "unexpected end of input in a \\u escape")
            }
            guard let digit = ASCIIHex.value(of: c) else {
                throw fail(.syntax, at: at, "invalid \\u escape: expected 4 hex digits, found \(describeRaw(c))")
            }
            value = value << 4 | UInt32(digit)
        }
        return value
    }

    mutating func appendUTF8(_ sink: Sink, _ scalar: UInt32) {
        switch scalar {
        case 0..<0x80:
            append(sink, UInt8(scalar))
        case 0x80..<0x800:
            append(sink, UInt8(0xC0 | scalar >> 6))
            append(sink, UInt8(0x80 | scalar & 0x3F))
        case 0x800..<0x10000:
            append(sink, UInt8(0xE0 | scalar >> 12))
            append(sink, UInt8(0x80 | scalar >> 6 & 0x3F))
            append(sink, UInt8(0x80 | scalar & 0x3F))
        default:
            append(sink, UInt8(0xF0 | scalar >> 18))
            append(sink, UInt8(0x80 | scalar >> 12 & 0x3F))
            append(sink, UInt8(0x80 | scalar >> 6 & 0x3F))
            append(sink, UInt8(0x80 | scalar & 0x3F))
        }
    }

    /// At `-` or a digit: one JSON number (RFC 8259 grammar), kept as its text.
    mutating func readNumber(_ sink: Sink) throws(PortsLoadError) {
        var c = buffer[pos]
        if c == ASCII.minus {
            append(sink, c)
            pos += 1
            guard let next = try peekByte(), isDigit(next) else {
                throw fail(.syntax, at: offset, "invalid number: expected a digit after '-', found \(describe(try peekByte()))")
            }
            c = next
        }
        if c == UInt8(ascii: "0") {
            append(sink, c)
            pos += 1
            if let next = try peekByte(), isDigit(next) {
                throw fail(.syntax, at: offset, "invalid number: a leading zero must not be followed by digits")
            }
        } else {
            try readDigits(sink)
        }
        if try peekByte() == UInt8(ascii: ".") {
            append(sink, UInt8(ascii: "."))
            pos += 1
            guard let next = try peekByte(), isDigit(next) else {
                throw fail(.syntax, at: offset, "invalid number: expected a digit after '.', found \(describe(try peekByte()))")
            }
            try readDigits(sink)
        }
        if let e = try peekByte(), e == UInt8(ascii: "e") || e == UInt8(ascii: "E") {
            append(sink, e)
            pos += 1
            if let sign = try peekByte(), sign == UInt8(ascii: "+") || sign == ASCII.minus {
                append(sink, sign)
                pos += 1
            }
            guard let next = try peekByte(), isDigit(next) else {
                throw fail(.syntax, at: offset, "invalid number: expected a digit in the exponent, found \(describe(try peekByte()))")
            }
            try readDigits(sink)
        }
    }

    /// One or more digits (the first is known to be there).
    mutating func readDigits(_ sink: Sink) throws(PortsLoadError) {
        while true {
            let p = buffer
            var i = pos
            let e = end
            while i < e && isDigit(p[i]) { i += 1 }
            if i > pos { append(sink, p + pos, i - pos) }
            pos = i
            if i < e { return }
            if try !refill() { return }
        }
    }

    mutating func readLiteral(_ word: StaticString) throws(PortsLoadError) {
        let start = offset
        for i in 0..<word.utf8CodeUnitCount {
            let c = try nextByte()
            guard c == word.utf8Start[i] else {
                throw fail(.syntax, at: start, "invalid literal: expected \(word) (JSON literals are true, false and null)")
            }
        }
    }
}

@inline(__always)
func isDigit(_ c: UInt8) -> Bool { c &- UInt8(ascii: "0") < 10 }
