/// The incremental JSON parser: pulls fixed-size chunks from a `ByteSource` and hands one record at a time to
/// a `SnapshotBuilder`. Memory is the chunk buffer plus the record being parsed; nesting is a bit stack.
/// Its owner calls `deallocate()` when done.
struct StreamParser<Source: ByteSource> {
    private var source: Source
    private let sourceName: String
    private let options: PortsParseOptions
    private let buffer: UnsafeMutablePointer<UInt8>
    /// Next unread byte in `buffer`, end of valid bytes, and the input offset of `buffer[0]`.
    private var pos = 0
    private var end = 0
    private var base = 0
    private var atEOF = false
    /// The current record id, field name and field values.
    private var id = ByteScratch(capacity: 64)
    private var key = ByteScratch(capacity: 64)
    private var values = ByteScratch(capacity: 64 * 1024)
    private var idIsKnown = false
    private var fields = RecordFields()
    private var nesting = BitStack()
    private var builder = SnapshotBuilder()

    init(source: Source, sourceName: String, options: PortsParseOptions) {
        self.source = source
        self.sourceName = sourceName
        self.options = options
        buffer = .allocate(capacity: options.chunkSize)
    }

    /// Frees the buffers; called with `defer` by the owner (explicitly, so that error paths free them too).
    func deallocate() {
        buffer.deallocate()
        id.deallocate()
        key.deallocate()
        values.deallocate()
        builder.deallocate()
    }

    private enum Sink { case discard, id, key, values }

    // MARK: Document and records

    mutating func parseDocument() throws(PortsLoadError) -> PortsSnapshot {
        try skipByteOrderMark()
        guard let first = try peekSignificant() else {
            throw fail(.syntax, at: offset, offset == 0
                ? "empty input: expected a JSON object of port records keyed by id"
                : "no JSON value, only whitespace: expected a JSON object of port records keyed by id")
        }
        guard first == ASCII.openBrace else {
            throw fail(isValueStart(first) ? .schema : .syntax, at: offset,
                "the top level must be a JSON object of port records keyed by id, found \(describe(first))")
        }
        pos += 1
        var c = try peekSignificant()
        if c == ASCII.closeBrace {
            pos += 1
        } else {
            while true {
                guard c == ASCII.quote else {
                    throw fail(.syntax, at: offset, expected("a record id (a string key)", found: c))
                }
                idIsKnown = false
                id.count = 0
                let keyOffset = offset
                try readString(.id)
                if id.count == 0 { throw fail(.schema, at: keyOffset, "a record id must not be empty") }
                idIsKnown = true
                c = try peekSignificant()
                guard c == ASCII.colon else {
                    throw fail(.syntax, at: offset, expected("':' after key \(quotedID)", found: c))
                }
                pos += 1
                c = try peekSignificant()
                guard c == ASCII.openBrace else {
                    throw fail(c.map(isValueStart) == true ? .schema : .syntax, at: offset,
                        "record \(quotedID) must be an object, found \(describe(c))")
                }
                try parseRecord()
                c = try peekSignificant()
                if c == ASCII.comma {
                    pos += 1
                    c = try peekSignificant()
                    continue
                }
                guard c == ASCII.closeBrace else {
                    throw fail(.syntax, at: offset, expected("',' or '}' after record \(quotedID)", found: c))
                }
                pos += 1
                break
            }
        }
        idIsKnown = false
        if let trailing = try peekSignificant() {
            throw fail(.syntax, at: offset,
                "unexpected \(describeRaw(trailing)) after the top-level object (only whitespace may follow it)")
        }
        idIsKnown = false
        do {
            return PortsSnapshot(store: try builder.makeStore(bytesRead: offset))
        } catch {
            throw fail(.limit, at: nil, "the ports data needs more than 4 GiB of memory")
        }
    }

    /// At `{`: reads one record's fields, checks the required ones and adds it.
    private mutating func parseRecord() throws(PortsLoadError) {
        let recordOffset = offset
        pos += 1
        values.reset(shrinkingAbove: 4 << 20, to: 64 << 10)
        fields.reset()
        var c = try peekSignificant()
        if c != ASCII.closeBrace {
            while true {
                guard c == ASCII.quote else {
                    throw fail(.syntax, at: offset, expected("a field name (a string) in record \(quotedID)", found: c))
                }
                key.count = 0
                try readString(.key)
                let field = RecordField.match(key.base, count: key.count)
                c = try peekSignificant()
                guard c == ASCII.colon else {
                    throw fail(.syntax, at: offset, expected("':' after field \(quotedKey) in record \(quotedID)", found: c))
                }
                pos += 1
                let value = try peekSignificant()
                switch field {
                case .name: fields.name = try readOptionalString(value, .name)
                case .city: fields.city = try readOptionalString(value, .city)
                case .country: fields.country = try readOptionalString(value, .country)
                case .province: fields.province = try readOptionalString(value, .province)
                case .timezone: fields.timezone = try readOptionalString(value, .timezone)
                case .code: fields.code = try readOptionalString(value, .code)
                case .alias, .regions, .unlocs: try readStringList(value, field!)
                case .coordinates: try readCoordinates(value)
                case nil: try skipValue()
                }
                c = try peekSignificant()
                if c == ASCII.comma {
                    pos += 1
                    c = try peekSignificant()
                    continue
                }
                guard c == ASCII.closeBrace else {
                    throw fail(.syntax, at: offset,
                        expected("',' or '}' after field \(quotedKey) in record \(quotedID)", found: c))
                }
                break
            }
        }
        pos += 1
        if fields.name == nil || fields.city == nil || fields.country == nil {
            let missing = fields.name == nil ? "name" : fields.city == nil ? "city" : "country"
            throw fail(.schema, at: recordOffset,
                "record \(quotedID) has no \"\(missing)\" (name, city and country are required strings; null counts as missing)")
        }
        try checkRecordSize()
        do {
            try builder.add(id: id.bufferPointer, fields: fields, values: values.base)
        } catch {
            throw fail(.limit, at: recordOffset, "the ports data needs more than 4 GiB of memory")
        }
    }

    private mutating func readOptionalString(_ value: UInt8?, _ field: RecordField) throws(PortsLoadError) -> ByteSpan? {
        if value == ASCII.quote {
            let start = values.count
            try readString(.values)
            return ByteSpan(start: start, count: values.count - start)
        }
        if value == UInt8(ascii: "n") {
            try readLiteral("null")
            return nil
        }
        throw typeError(field, "a string", found: value)
    }

    private mutating func readStringList(_ value: UInt8?, _ field: RecordField) throws(PortsLoadError) {
        switch field {
        case .alias: fields.alias.removeAll(keepingCapacity: true)
        case .regions: fields.regions.removeAll(keepingCapacity: true)
        default: fields.unlocs.removeAll(keepingCapacity: true)
        }
        if value == UInt8(ascii: "n") {
            try readLiteral("null")
            return
        }
        guard value == ASCII.openBracket else { throw typeError(field, "an array of strings", found: value) }
        pos += 1
        var c = try peekSignificant()
        if c == ASCII.closeBracket {
            pos += 1
            return
        }
        var listed = 0
        while true {
            guard c == ASCII.quote else {
                if let c, isValueStart(c) {
                    throw fail(.schema, at: offset,
                        "field \"\(field.rawValue)\" of record \(quotedID) must be an array of strings, found \(describe(c)) in it")
                }
                throw fail(.syntax, at: offset, expected("a string in field \"\(field.rawValue)\" of record \(quotedID)", found: c))
            }
            let start = values.count
            try readString(.values)
            let span = ByteSpan(start: start, count: values.count - start)
            switch field {
            case .alias: fields.alias.append(span)
            case .regions: fields.regions.append(span)
            default: fields.unlocs.append(span)
            }
            listed += 1
            if listed & 1023 == 0 { try checkRecordSize() }
            c = try peekSignificant()
            if c == ASCII.comma {
                pos += 1
                c = try peekSignificant()
                continue
            }
            guard c == ASCII.closeBracket else {
                throw fail(.syntax, at: offset, expected("',' or ']' in field \"\(field.rawValue)\" of record \(quotedID)", found: c))
            }
            pos += 1
            return
        }
    }

    /// Exactly `[lon, lat]`: two JSON numbers, kept as text.
    private mutating func readCoordinates(_ value: UInt8?) throws(PortsLoadError) {
        fields.longitude = nil
        fields.latitude = nil
        if value == UInt8(ascii: "n") {
            try readLiteral("null")
            return
        }
        let wanted = "[lon, lat] (an array of 2 numbers)"
        guard value == ASCII.openBracket else { throw typeError(.coordinates, wanted, found: value) }
        let arrayOffset = offset
        pos += 1
        var longitude: ByteSpan?
        var latitude: ByteSpan?
        var count = 0
        var c = try peekSignificant()
        if c != ASCII.closeBracket {
            while true {
                guard let first = c, first == ASCII.minus || isDigit(first) else {
                    if let c, isValueStart(c) {
                        throw fail(.schema, at: offset,
                            "field \"coordinates\" of record \(quotedID) must be \(wanted), found \(describe(c)) in it")
                    }
                    throw fail(.syntax, at: offset, expected("a number in field \"coordinates\" of record \(quotedID)", found: c))
                }
                if count == 2 {
                    throw fail(.schema, at: offset,
                        "field \"coordinates\" of record \(quotedID) must be \(wanted), found more than 2 numbers")
                }
                let start = values.count
                try readNumber(.values)
                let span = ByteSpan(start: start, count: values.count - start)
                if count == 0 { longitude = span } else { latitude = span }
                count += 1
                c = try peekSignificant()
                if c == ASCII.comma {
                    pos += 1
                    c = try peekSignificant()
                    continue
                }
                guard c == ASCII.closeBracket else {
                    throw fail(.syntax, at: offset, expected("',' or ']' in field \"coordinates\" of record \(quotedID)", found: c))
                }
                break
            }
        }
        pos += 1
        guard count == 2 else {
            throw fail(.schema, at: arrayOffset,
                "field \"coordinates\" of record \(quotedID) must be \(wanted), found \(count) number\(count == 1 ? "" : "s")")
        }
        fields.longitude = longitude
        fields.latitude = latitude
    }

    /// Skips one value of any shape and depth without recursion, validating it all the same.
    private mutating func skipValue() throws(PortsLoadError) {
        var state = SkipState.value
        nesting.reset()
        while true {
            switch state {
            case .value:
                guard let c = try peekSignificant() else {
                    throw fail(.syntax, at: offset, expected("a value in field \(quotedKey) of record \(quotedID)", found: nil))
                }
                switch c {
                case ASCII.quote:
                    try readString(.discard)
                    state = .afterValue
                case ASCII.minus, UInt8(ascii: "0")...UInt8(ascii: "9"):
                    try readNumber(.discard)
                    state = .afterValue
                case UInt8(ascii: "t"):
                    try readLiteral("true")
                    state = .afterValue
                case UInt8(ascii: "f"):
                    try readLiteral("false")
                    state = .afterValue
                case UInt8(ascii: "n"):
                    try readLiteral("null")
                    state = .afterValue
                case ASCII.openBracket:
                    pos += 1
                    nesting.push(isObject: false)
                    if try peekSignificant() == ASCII.closeBracket {
                        pos += 1
                        nesting.pop()
                        state = .afterValue
                    }
                case ASCII.openBrace:
                    pos += 1
                    nesting.push(isObject: true)
                    if try peekSignificant() == ASCII.closeBrace {
                        pos += 1
                        nesting.pop()
                        state = .afterValue
                    } else {
                        state = .key
                    }
                default:
                    throw fail(.syntax, at: offset, expected("a value in field \(quotedKey) of record \(quotedID)", found: c))
                }
            case .key:
                let c = try peekSignificant()
                guard c == ASCII.quote else {
                    throw fail(.syntax, at: offset, expected("a string key in an object in field \(quotedKey) of record \(quotedID)", found: c))
                }
                try readString(.discard)
                let colon = try peekSignificant()
                guard colon == ASCII.colon else {
                    throw fail(.syntax, at: offset, expected("':' after an object key in field \(quotedKey) of record \(quotedID)", found: colon))
                }
                pos += 1
                state = .value
            case .afterValue:
                if nesting.isEmpty { return }
                let inObject = nesting.topIsObject
                let c = try peekSignificant()
                if c == ASCII.comma {
                    pos += 1
                    state = inObject ? .key : .value
                } else if c == (inObject ? ASCII.closeBrace : ASCII.closeBracket) {
                    pos += 1
                    nesting.pop()
                } else {
                    throw fail(.syntax, at: offset,
                        expected(inObject ? "',' or '}' in an object in field \(quotedKey) of record \(quotedID)"
                            : "',' or ']' in an array in field \(quotedKey) of record \(quotedID)", found: c))
                }
            }
        }
    }

    // MARK: Input

    private var offset: Int { base + pos }

    /// Called only when every buffered byte is consumed; false at the end of the input.
    @inline(never)
    private mutating func refill() throws(PortsLoadError) -> Bool {
        if atEOF { return false }
        base += end
        pos = 0
        end = 0
        let n = try source.read(into: UnsafeMutableRawBufferPointer(start: buffer, count: options.chunkSize))
        if n == 0 {
            atEOF = true
            return false
        }
        end = n
        return true
    }

    /// The next byte that is not JSON whitespace, not consumed; nil at the end of the input.
    @inline(__always)
    private mutating func peekSignificant() throws(PortsLoadError) -> UInt8? {
        while true {
            let p = buffer
            var i = pos
            let e = end
            i = SWAR.firstNonBlank(p, from: i, to: e)
            while i < e {
                let c = p[i]
                if c > 0x20 {
                    pos = i
                    return c
                }
                if c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 {
                    i += 1
                    continue
                }
                pos = i
                return c
            }
            pos = i
            if try !refill() { return nil }
        }
    }

    /// The next byte, not consumed; nil at the end of the input.
    @inline(__always)
    private mutating func peekByte() throws(PortsLoadError) -> UInt8? {
        if pos == end, try !refill() { return nil }
        return buffer[pos]
    }

    /// Consumes and returns the next byte; nil at the end of the input.
    @inline(__always)
    private mutating func nextByte() throws(PortsLoadError) -> UInt8? {
        if pos == end, try !refill() { return nil }
        let c = buffer[pos]
        pos += 1
        return c
    }

    private mutating func skipByteOrderMark() throws(PortsLoadError) {
        guard try peekByte() == 0xEF else { return }
        for expectedByte: UInt8 in [0xEF, 0xBB, 0xBF] {
            let at = offset
            let c = try nextByte()
            guard c == expectedByte else {
                throw fail(.encoding, at: at, "invalid UTF-8 at the start of the input (an incomplete byte order mark)")
            }
        }
    }

    // MARK: Scalars

    @inline(__always)
    private mutating func append(_ sink: Sink, _ bytes: UnsafePointer<UInt8>, _ n: Int) {
        switch sink {
        case .discard: break
        case .id: id.append(bytes, count: n)
        case .key: key.append(bytes, count: n)
        case .values: values.append(bytes, count: n)
        }
    }

    @inline(__always)
    private mutating func append(_ sink: Sink, _ byte: UInt8) {
        switch sink {
        case .discard: break
        case .id: id.append(byte)
        case .key: key.append(byte)
        case .values: values.append(byte)
        }
    }

    /// At `"`: reads a string, unescaping it and validating its UTF-8.
    private mutating func readString(_ sink: Sink) throws(PortsLoadError) {
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
    private mutating func readMultibyte(_ sink: Sink) throws(PortsLoadError) {
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
    private mutating func readEscape(_ sink: Sink) throws(PortsLoadError) {
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

    private mutating func readHex4(_ escapeOffset: Int) throws(PortsLoadError) -> UInt32 {
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

    private mutating func appendUTF8(_ sink: Sink, _ scalar: UInt32) {
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
    private mutating func readNumber(_ sink: Sink) throws(PortsLoadError) {
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
    private mutating func readDigits(_ sink: Sink) throws(PortsLoadError) {
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

    private mutating func readLiteral(_ word: StaticString) throws(PortsLoadError) {
        let start = offset
        for i in 0..<word.utf8CodeUnitCount {
            let c = try nextByte()
            guard c == word.utf8Start[i] else {
                throw fail(.syntax, at: start, "invalid literal: expected \(word) (JSON literals are true, false and null)")
            }
        }
    }

    // MARK: Errors

    private func checkRecordSize() throws(PortsLoadError) {
        let stored = values.count + key.count + id.count
            + 16 * (fields.alias.count + fields.regions.count + fields.unlocs.count)
        if stored > options.maxRecordBytes {
            throw fail(.limit, at: offset,
                "record \(idIsKnown ? quotedID : "being read") is larger than the limit of \(options.maxRecordBytes) bytes")
        }
    }

    private func typeError(_ field: RecordField, _ wanted: String, found c: UInt8?) -> PortsLoadError {
        if let c, isValueStart(c) {
            return fail(.schema, at: offset,
                "field \"\(field.rawValue)\" of record \(quotedID) must be \(wanted), found \(describe(c))")
        }
        return fail(.syntax, at: offset, expected("a value for field \"\(field.rawValue)\" of record \(quotedID)", found: c))
    }

    private func fail(_ kind: PortsLoadError.Kind, at offset: Int?, _ message: String) -> PortsLoadError {
        PortsLoadError(kind: kind, source: sourceName, offset: offset,
                       recordID: idIsKnown ? String(decoding: id.bufferPointer, as: UTF8.self) : nil, message: message)
    }

    private func expected(_ what: String, found c: UInt8?) -> String {
        "expected \(what), found \(describe(c))"
    }

    private var quotedID: String { Self.quoted(id.bufferPointer) }
    private var quotedKey: String { Self.quoted(key.bufferPointer) }

    /// A JSON-quoted excerpt for messages (long names are cut).
    static func quoted(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        var out: [UInt8] = []
        JSONStringEscaper.appendQuoted(UnsafeBufferPointer(rebasing: bytes.prefix(80)), to: &out)
        if bytes.count > 80 { out.insert(contentsOf: "...".utf8, at: out.count - 1) }
        return String(decoding: out, as: UTF8.self)
    }

}

func describe(_ c: UInt8?) -> String {
    guard let c else { return "end of input" }
    switch c {
    case ASCII.quote: return "a string"
    case ASCII.openBrace: return "an object"
    case ASCII.openBracket: return "an array"
    case ASCII.minus, UInt8(ascii: "0")...UInt8(ascii: "9"): return "a number"
    case UInt8(ascii: "t"), UInt8(ascii: "f"): return "a boolean"
    case UInt8(ascii: "n"): return "null"
    default: return describeRaw(c)
    }
}

func describeRaw(_ c: UInt8) -> String {
    (0x21...0x7E).contains(c) ? "'\(Character(Unicode.Scalar(c)))'" : "byte \(hexByte(c))"
}

func isValueStart(_ c: UInt8) -> Bool {
    switch c {
    case ASCII.quote, ASCII.openBrace, ASCII.openBracket, ASCII.minus, UInt8(ascii: "0")...UInt8(ascii: "9"),
         UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"):
        return true
    default:
        return false
    }
}

@inline(__always)
func isDigit(_ c: UInt8) -> Bool { c &- UInt8(ascii: "0") < 10 }

func hexByte(_ c: UInt8) -> String { "0x" + ASCIIHex.uppercase(UInt32(c), count: 2) }

func hex4(_ value: UInt32) -> String { ASCIIHex.uppercase(value, count: 4) }

func hexScalar(_ value: UInt32) -> String { "U+" + hex4(value) }

/// Where `skipValue` is within the value it skips.
enum SkipState { case value, key, afterValue }

enum ASCII {
    static let quote = UInt8(ascii: "\"")
    static let backslash = UInt8(ascii: "\\")
    static let openBrace = UInt8(ascii: "{")
    static let closeBrace = UInt8(ascii: "}")
    static let openBracket = UInt8(ascii: "[")
    static let closeBracket = UInt8(ascii: "]")
    static let colon = UInt8(ascii: ":")
    static let comma = UInt8(ascii: ",")
    static let minus = UInt8(ascii: "-")
}
