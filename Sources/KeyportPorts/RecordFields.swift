/// The fields of the record being parsed, as spans into the parser's value scratch buffer.
struct RecordFields {
    var name: ByteSpan?
    var city: ByteSpan?
    var country: ByteSpan?
    var province: ByteSpan?
    var timezone: ByteSpan?
    var code: ByteSpan?
    var longitude: ByteSpan?
    var latitude: ByteSpan?
    var alias: [ByteSpan] = []
    var regions: [ByteSpan] = []
    var unlocs: [ByteSpan] = []

    mutating func reset() {
        name = nil
        city = nil
        country = nil
        province = nil
        timezone = nil
        code = nil
        longitude = nil
        latitude = nil
        alias.removeAll(keepingCapacity: true)
        regions.removeAll(keepingCapacity: true)
        unlocs.removeAll(keepingCapacity: true)
    }
}

/// The record fields the parser knows; anything else is skipped whatever its shape.
enum RecordField: String {
    case name, city, country, province, timezone, code, coordinates, alias, regions, unlocs

    /// Matches a field name without building a String (this runs for every key of every record).
    static func match(_ key: UnsafePointer<UInt8>, count: Int) -> RecordField? {
        @inline(__always) func equals(_ literal: StaticString) -> Bool {
            literal.utf8CodeUnitCount == count && memcmpEqual(key, literal.utf8Start, count)
        }
        switch count {
        case 4:
            if equals("name") { return .name }
            if equals("city") { return .city }
            if equals("code") { return .code }
        case 5:
            if equals("alias") { return .alias }
        case 6:
            if equals("unlocs") { return .unlocs }
        case 7:
            if equals("country") { return .country }
            if equals("regions") { return .regions }
        case 8:
            if equals("province") { return .province }
            if equals("timezone") { return .timezone }
        case 11:
            if equals("coordinates") { return .coordinates }
        default:
            break
        }
        return nil
    }
}

@inline(__always)
func memcmpEqual(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ count: Int) -> Bool {
    var i = 0
    while i < count {
        if a[i] != b[i] { return false }
        i += 1
    }
    return true
}
