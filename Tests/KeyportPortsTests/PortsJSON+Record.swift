@testable import KeyportPorts

/// A record's JSON written from its decoded `PortRecord`, independently of the server's writer
/// (`PortsJSON.appendStoredRecord`, straight from the stored bytes): the tests' expected output for it.
extension PortsJSON {
    /// `{"id":…,"name":…,"city":…,"country":…,"alias":[…],"regions":[…],"coordinates":[lon,lat],"province":…,
    /// "timezone":…,"unlocs":[…],"code":…}`
    static func appendRecord(_ record: PortRecord, into out: inout [UInt8]) {
        func field(_ name: StaticString, _ value: String) {
            appendKey(name, into: &out)
            appendString(value, into: &out)
        }
        func list(_ name: StaticString, _ values: [String]) {
            appendKey(name, into: &out)
            out.append(UInt8(ascii: "["))
            for (i, value) in values.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                appendString(value, into: &out)
            }
            out.append(UInt8(ascii: "]"))
        }
        out.append(UInt8(ascii: "{"))
        appendRaw("\"id\":", into: &out)
        appendString(record.id, into: &out)
        field("name", record.name)
        field("city", record.city)
        field("country", record.country)
        list("alias", record.alias)
        list("regions", record.regions)
        if let coordinates = record.coordinates {
            appendKey("coordinates", into: &out)
            out.append(UInt8(ascii: "["))
            for (i, number) in coordinates.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                out.append(contentsOf: number.utf8)
            }
            out.append(UInt8(ascii: "]"))
        }
        if let province = record.province { field("province", province) }
        if let timezone = record.timezone { field("timezone", timezone) }
        list("unlocs", record.unlocs)
        if let code = record.code { field("code", code) }
        out.append(UInt8(ascii: "}"))
    }
}
