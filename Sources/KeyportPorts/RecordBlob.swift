/// The stored form of one record: a few bytes of header and length-prefixed strings, nothing else.
///
/// Layout: `flags`, id, name, city, country index, [timezone index], [province], [code], [lon, lat],
/// alias list, regions list, unlocs list. Strings and lists are prefixed by LEB128 lengths/counts,
/// so a typical record costs its text plus about a dozen bytes.
enum RecordBlob {
    static let hasCoordinates: UInt8 = 1
    static let hasProvince: UInt8 = 2
    static let hasTimezone: UInt8 = 4
    static let hasCode: UInt8 = 8
    /// `unlocs` lists an id other than the record's own (indexed for look-ups).
    static let hasForeignUnloc: UInt8 = 16

    @inline(__always)
    static func appendVarint(_ value: Int, to out: inout ByteScratch) {
        var v = UInt(value)
        while v >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
    }

    @inline(__always)
    static func readVarint(_ p: UnsafePointer<UInt8>, _ i: inout Int) -> Int {
        var result = 0
        var shift = 0
        while true {
            let byte = p[i]
            i += 1
            result |= Int(byte & 0x7F) << shift
            if byte < 0x80 { return result }
            shift += 7
        }
    }

    /// The id, which every blob starts with (after the flags byte).
    @inline(__always)
    static func id(_ p: UnsafePointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
        var i = 1
        let n = readVarint(p, &i)
        return UnsafeBufferPointer(start: p + i, count: n)
    }
}

@inline(__always)
func compareBytes(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Int {
    let n = Swift.min(a.count, b.count)
    var i = 0
    while i < n {
        let x = a[i]
        let y = b[i]
        if x != y { return x < y ? -1 : 1 }
        i += 1
    }
    return a.count == b.count ? 0 : (a.count < b.count ? -1 : 1)
}

extension String {
    /// Runs `body` over the UTF-8 bytes without copying when the string is native (the common case).
    @inline(__always)
    func withUTF8Bytes<R>(_ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        if let result = utf8.withContiguousStorageIfAvailable(body) { return result }
        return Array(utf8).withUnsafeBufferPointer(body)
    }
}
