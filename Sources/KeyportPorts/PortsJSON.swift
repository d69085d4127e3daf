/// JSON output of records and pages, appended to a byte buffer: strings keep their UTF-8 as is (only `"`, `\`
/// and control characters are escaped), coordinates keep the file's number text, absent fields are omitted.
public enum PortsJSON {
    /// `{"ports":[record,…],"next":"ID"|null}`, written straight from the snapshot's storage.
    public static func appendPage(_ page: PortsPage, into out: inout [UInt8]) {
        appendRaw("{\"ports\":[", into: &out)
        for (i, position) in page.positions.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            appendStoredRecord(at: Int(position), of: page.tables, into: &out)
        }
        appendRaw("],\"next\":", into: &out)
        if let next = page.next { appendString(next, into: &out) } else { appendRaw("null", into: &out) }
        out.append(UInt8(ascii: "}"))
    }

    /// A JSON string literal (quoted and escaped).
    public static func appendString(_ value: String, into out: inout [UInt8]) {
        value.withUTF8Bytes { JSONStringEscaper.appendQuoted($0, to: &out) }
    }

    static func appendStoredRecord(at position: Int, of tables: SnapshotTables, into out: inout [UInt8]) {
        tables.withBlob(at: position) { p in
            let view = BlobView(p)
            func list(_ name: StaticString, _ offset: Int) {
                appendKey(name, into: &out)
                out.append(UInt8(ascii: "["))
                var first = true
                view.forEach(listAt: offset) { value, _ in
                    if !first { out.append(UInt8(ascii: ",")) }
                    first = false
                    JSONStringEscaper.appendQuoted(value, to: &out)
                }
                out.append(UInt8(ascii: "]"))
            }
            out.append(UInt8(ascii: "{"))
            appendRaw("\"id\":", into: &out)
            JSONStringEscaper.appendQuoted(view.id, to: &out)
            appendKey("name", into: &out)
            JSONStringEscaper.appendQuoted(view.name, to: &out)
            appendKey("city", into: &out)
            JSONStringEscaper.appendQuoted(view.city, to: &out)
            appendKey("country", into: &out)
            appendString(tables.countries[view.country], into: &out)
            list("alias", view.aliasOffset)
            list("regions", view.regionsOffset)
            if let longitude = view.longitude, let latitude = view.latitude {
                appendKey("coordinates", into: &out)
                out.append(UInt8(ascii: "["))
                out.append(contentsOf: longitude)
                out.append(UInt8(ascii: ","))
                out.append(contentsOf: latitude)
                out.append(UInt8(ascii: "]"))
            }
            if let province = view.province {
                appendKey("province", into: &out)
                JSONStringEscaper.appendQuoted(province, to: &out)
            }
            if let timezone = view.timezone {
                appendKey("timezone", into: &out)
                appendString(tables.timezones[timezone], into: &out)
            }
            list("unlocs", view.unlocsOffset)
            if let code = view.code {
                appendKey("code", into: &out)
                JSONStringEscaper.appendQuoted(code, to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    @inline(__always)
    static func appendRaw(_ text: StaticString, into out: inout [UInt8]) {
        out.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// `,"name":`
    @inline(__always)
    static func appendKey(_ name: StaticString, into out: inout [UInt8]) {
        out.append(UInt8(ascii: ","))
        out.append(UInt8(ascii: "\""))
        appendRaw(name, into: &out)
        out.append(UInt8(ascii: "\""))
        out.append(UInt8(ascii: ":"))
    }
}
