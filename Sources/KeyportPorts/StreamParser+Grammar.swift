/// The grammar of a ports document: the top-level object, records and their fields, skipped values.
extension StreamParser {
    /// Where `skipValue` is within the value it skips.
    enum SkipState { case value, key, afterValue }

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
                guard try commaOrClose(ASCII.closeBrace, { "',' or '}' after record \($0.quotedID)" }) else { break }
                c = try peekSignificant()
            }
        }
        idIsKnown = false
        if let trailing = try peekSignificant() {
            throw fail(.syntax, at: offset,
                "unexpected \(describeRaw(trailing)) after the top-level object (only whitespace may follow it)")
        }
        try report(parsed: true)
        do {
            return PortsSnapshot(tables: try builder.freeze(bytesRead: offset))
        } catch {
            throw fail(.limit, at: nil, "the ports data needs more than 4 GiB of memory")
        }
    }

    /// At `{`: reads one record's fields, checks the required ones and adds it.
    mutating func parseRecord() throws(PortsLoadError) {
        let recordOffset = offset
        pos += 1
        values.reset(shrinkingAbove: 4 << 20, to: 64 << 10)
        fields.reset()
        var c = try peekSignificant()
        if c == ASCII.closeBrace {
            pos += 1
        } else {
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
                guard try commaOrClose(ASCII.closeBrace, { "',' or '}' after field \($0.quotedKey) in record \($0.quotedID)" })
                else { break }
                c = try peekSignificant()
            }
        }
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

    mutating func readOptionalString(_ value: UInt8?, _ field: RecordField) throws(PortsLoadError) -> ByteSpan? {
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

    mutating func readStringList(_ value: UInt8?, _ field: RecordField) throws(PortsLoadError) {
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
            guard try commaOrClose(ASCII.closeBracket, { "',' or ']' in field \"\(field.rawValue)\" of record \($0.quotedID)" })
            else { return }
            c = try peekSignificant()
        }
    }

    /// Exactly `[lon, lat]`: two JSON numbers, kept as text.
    mutating func readCoordinates(_ value: UInt8?) throws(PortsLoadError) {
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
        if c == ASCII.closeBracket {
            pos += 1
        } else {
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
                guard try commaOrClose(ASCII.closeBracket, { "',' or ']' in field \"coordinates\" of record \($0.quotedID)" })
                else { break }
                c = try peekSignificant()
            }
        }
        guard count == 2 else {
            throw fail(.schema, at: arrayOffset,
                "field \"coordinates\" of record \(quotedID) must be \(wanted), found \(count) number\(count == 1 ? "" : "s")")
        }
        fields.longitude = longitude
        fields.latitude = latitude
    }

    /// Skips one value of any shape and depth without recursion, validating it all the same.
    mutating func skipValue() throws(PortsLoadError) {
        var state = SkipState.value
        nesting.reset()
        while true {
            switch state {
            case .value:
                guard let c = try peekSignificant() else {
                    throw fail(.syntax, at: offset, expected("a value in \(skippedValuePlace)", found: nil))
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
                case ASCII.openBracket, ASCII.openBrace:
                    let isObject = c == ASCII.openBrace
                    pos += 1
                    nesting.push(isObject: isObject)
                    if try peekSignificant() == (isObject ? ASCII.closeBrace : ASCII.closeBracket) {
                        pos += 1
                        nesting.pop()
                        state = .afterValue
                    } else if isObject {
                        state = .key
                    }
                default:
                    throw fail(.syntax, at: offset, expected("a value in \(skippedValuePlace)", found: c))
                }
            case .key:
                let c = try peekSignificant()
                guard c == ASCII.quote else {
                    throw fail(.syntax, at: offset, expected("a string key in an object in \(skippedValuePlace)", found: c))
                }
                try readString(.discard)
                let colon = try peekSignificant()
                guard colon == ASCII.colon else {
                    throw fail(.syntax, at: offset, expected("':' after an object key in \(skippedValuePlace)", found: colon))
                }
                pos += 1
                state = .value
            case .afterValue:
                if nesting.isEmpty { return }
                let inObject = nesting.topIsObject
                let another = try commaOrClose(inObject ? ASCII.closeBrace : ASCII.closeBracket) {
                    inObject ? "',' or '}' in an object in \($0.skippedValuePlace)"
                        : "',' or ']' in an array in \($0.skippedValuePlace)"
                }
                if another {
                    state = inObject ? .key : .value
                } else {
                    nesting.pop()
                }
            }
        }
    }

    /// After a member of an object or array: consumes `,` (true: another member follows) or `close`
    /// (false: the container ended). Anything else is a syntax error saying `expectation` was expected;
    /// the message is built from the parser only then, so the happy path never formats it.
    @inline(__always)
    mutating func commaOrClose(_ close: UInt8, _ expectation: (Self) -> String) throws(PortsLoadError) -> Bool {
        let c = try peekSignificant()
        if c == ASCII.comma {
            pos += 1
            return true
        }
        guard c == close else { throw fail(.syntax, at: offset, expected(expectation(self), found: c)) }
        pos += 1
        return false
    }
}
