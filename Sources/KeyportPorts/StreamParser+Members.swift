/// The grammar of one flat JSON object (`JSONObjectMembers`), built from the same lexing as ports records.
extension StreamParser {
    /// One JSON object and nothing after it but whitespace: each member's name and value, in order.
    mutating func parseObjectMembers(_ member: (String, JSONObjectMembers.Value) -> Void) throws(PortsLoadError) {
        let first = try peekSignificant()
        guard first == ASCII.openBrace else {
            throw fail(first.map(isValueStart) == true ? .schema : .syntax, at: offset, "expected a JSON object, found \(describe(first))")
        }
        pos += 1
        var c = try peekSignificant()
        if c == ASCII.closeBrace {
            pos += 1
        } else {
            while true {
                guard c == ASCII.quote else { throw fail(.syntax, at: offset, expected("a member name (a string)", found: c)) }
                key.count = 0
                try readString(.key)
                let name = String(decoding: key.bufferPointer, as: UTF8.self)
                c = try peekSignificant()
                guard c == ASCII.colon else { throw fail(.syntax, at: offset, expected("':' after member \(quotedKey)", found: c)) }
                pos += 1
                member(name, try readMemberValue())
                guard try commaOrClose(ASCII.closeBrace, { "',' or '}' after member \($0.quotedKey)" }) else { break }
                c = try peekSignificant()
            }
        }
        if let trailing = try peekSignificant() {
            throw fail(.syntax, at: offset, "unexpected \(describeRaw(trailing)) after the object (only whitespace may follow it)")
        }
    }

    /// A member's value: scalars as values, objects and arrays validated by `skipValue` and kept as `.nested`.
    mutating func readMemberValue() throws(PortsLoadError) -> JSONObjectMembers.Value {
        switch try peekSignificant() {
        case ASCII.quote:
            values.count = 0
            try readString(.values)
            return .string(String(decoding: values.bufferPointer, as: UTF8.self))
        case let c? where c == ASCII.minus || isDigit(c):
            values.count = 0
            try readNumber(.values)
            return .number(String(decoding: values.bufferPointer, as: UTF8.self))
        case UInt8(ascii: "t"):
            try readLiteral("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try readLiteral("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try readLiteral("null")
            return .null
        default:
            try skipValue()
            return .nested
        }
    }
}
