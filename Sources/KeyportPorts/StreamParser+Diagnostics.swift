/// Diagnostics: typed errors with the byte offset and record id, and how bytes are described in them.
extension StreamParser {
    func checkRecordSize() throws(PortsLoadError) {
        let stored = values.count + key.count + id.count
            + 16 * (fields.alias.count + fields.regions.count + fields.unlocs.count)
        if stored > options.maxRecordBytes {
            throw fail(.limit, at: offset,
                "record \(idIsKnown ? quotedID : "being read") is larger than the limit of \(options.maxRecordBytes) bytes")
        }
    }

    func typeError(_ field: RecordField, _ wanted: String, found c: UInt8?) -> PortsLoadError {
        if let c, isValueStart(c) {
            return fail(.schema, at: offset,
                "field \"\(field.rawValue)\" of record \(quotedID) must be \(wanted), found \(describe(c))")
        }
        return fail(.syntax, at: offset, expected("a value for field \"\(field.rawValue)\" of record \(quotedID)", found: c))
    }

    func fail(_ kind: PortsLoadError.Kind, at offset: Int?, _ message: String) -> PortsLoadError {
        PortsLoadError(kind: kind, source: sourceName, offset: offset,
                       recordID: idIsKnown ? String(decoding: id.bufferPointer, as: UTF8.self) : nil, message: message)
    }

    func expected(_ what: String, found c: UInt8?) -> String {
        "expected \(what), found \(describe(c))"
    }

    var quotedID: String { Self.quoted(id.bufferPointer) }
    var quotedKey: String { Self.quoted(key.bufferPointer) }
    /// Where `skipValue` is, for its messages: `field "x" of record "AEAJM"`, or `member "x"` of a flat object.
    var skippedValuePlace: String { idIsKnown ? "field \(quotedKey) of record \(quotedID)" : "member \(quotedKey)" }

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

func hexByte(_ c: UInt8) -> String { "0x" + ASCIIHex.uppercase(UInt32(c), count: 2) }

func hex4(_ value: UInt32) -> String { ASCIIHex.uppercase(value, count: 4) }

func hexScalar(_ value: UInt32) -> String { "U+" + hex4(value) }
