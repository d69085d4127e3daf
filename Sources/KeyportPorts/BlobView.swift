/// The decoded offsets of one blob's fields.
struct BlobView {
    let base: UnsafePointer<UInt8>
    let flags: UInt8
    let id: UnsafeBufferPointer<UInt8>
    let name: UnsafeBufferPointer<UInt8>
    let city: UnsafeBufferPointer<UInt8>
    let country: Int
    let timezone: Int?
    let province: UnsafeBufferPointer<UInt8>?
    let code: UnsafeBufferPointer<UInt8>?
    let longitude: UnsafeBufferPointer<UInt8>?
    let latitude: UnsafeBufferPointer<UInt8>?
    /// Offsets (from `base`) of the alias, regions and unlocs lists, and the blob's end.
    let aliasOffset: Int
    let regionsOffset: Int
    let unlocsOffset: Int
    let length: Int

    init(_ p: UnsafePointer<UInt8>) {
        base = p
        flags = p[0]
        var i = 1
        @inline(__always) func string() -> UnsafeBufferPointer<UInt8> {
            let n = RecordBlob.readVarint(p, &i)
            defer { i += n }
            return UnsafeBufferPointer(start: p + i, count: n)
        }
        @inline(__always) func skipList() {
            let n = RecordBlob.readVarint(p, &i)
            for _ in 0..<n { i += RecordBlob.readVarint(p, &i) }
        }
        id = string()
        name = string()
        city = string()
        country = RecordBlob.readVarint(p, &i)
        timezone = flags & RecordBlob.hasTimezone != 0 ? RecordBlob.readVarint(p, &i) : nil
        province = flags & RecordBlob.hasProvince != 0 ? string() : nil
        code = flags & RecordBlob.hasCode != 0 ? string() : nil
        if flags & RecordBlob.hasCoordinates != 0 {
            longitude = string()
            latitude = string()
        } else {
            longitude = nil
            latitude = nil
        }
        aliasOffset = i
        skipList()
        regionsOffset = i
        skipList()
        unlocsOffset = i
        skipList()
        length = i
    }

    /// Calls `body` with each string of the list at `offset` and that string's offset in the blob.
    @inline(__always)
    func forEach(listAt offset: Int, _ body: (UnsafeBufferPointer<UInt8>, Int) -> Void) {
        var i = offset
        let n = RecordBlob.readVarint(base, &i)
        for _ in 0..<n {
            let start = i
            let length = RecordBlob.readVarint(base, &i)
            body(UnsafeBufferPointer(start: base + i, count: length), start)
            i += length
        }
    }

    func strings(listAt offset: Int) -> [String] {
        var result: [String] = []
        forEach(listAt: offset) { bytes, _ in result.append(String(decoding: bytes, as: UTF8.self)) }
        return result
    }
}
