/// An open-addressing hash table from byte-string keys to small integers, storing only a 32-bit hash tag and
/// the value (8 bytes a slot): the keys themselves stay in the caller's arena and are compared on a tag hit.
struct KeyTable: Sendable {
    /// `tag << 32 | (value + 1)`; 0 marks an empty slot.
    private(set) var entries: [UInt64]
    private(set) var count = 0

    init(minimumCapacity: Int) {
        var capacity = 16
        while capacity < minimumCapacity * 2 { capacity <<= 1 }
        entries = Array(repeating: 0, count: capacity)
    }

    /// FNV-1a: short ids (5 bytes) hash in a few nanoseconds and spread well enough for linear probing.
    @inline(__always)
    static func hash(_ bytes: UnsafePointer<UInt8>, count: Int) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for i in 0..<count {
            h = (h ^ UInt64(bytes[i])) &* 0x0000_0100_0000_01b3
        }
        return h
    }

    @inline(__always)
    static func tag(_ hash: UInt64) -> UInt32 {
        let mixed = hash ^ (hash >> 29)
        return UInt32(truncatingIfNeeded: mixed ^ (mixed >> 32))
    }

    /// The value stored under a key with this hash for which `isMatch(value)` holds.
    @inline(__always)
    func find(hash: UInt64, isMatch: (Int) -> Bool) -> Int? {
        let tag = Self.tag(hash)
        return entries.withUnsafeBufferPointer { slots -> Int? in
            let mask = slots.count - 1
            var i = Int(tag) & mask
            while true {
                let entry = slots[i]
                if entry == 0 { return nil }
                if UInt32(truncatingIfNeeded: entry >> 32) == tag {
                    let value = Int(UInt32(truncatingIfNeeded: entry)) - 1
                    if isMatch(value) { return value }
                }
                i = (i + 1) & mask
            }
        }
    }

    /// Adds a key known to be absent.
    mutating func insert(hash: UInt64, value: Int) {
        if (count + 1) * 2 > entries.count { grow() }
        Self.place(UInt64(Self.tag(hash)) << 32 | UInt64(value + 1), in: &entries)
        count += 1
    }

    private static func place(_ entry: UInt64, in entries: inout [UInt64]) {
        entries.withUnsafeMutableBufferPointer { slots in
            let mask = slots.count - 1
            var i = Int(UInt32(truncatingIfNeeded: entry >> 32)) & mask
            while slots[i] != 0 { i = (i + 1) & mask }
            slots[i] = entry
        }
    }

    private mutating func grow() {
        var bigger = [UInt64](repeating: 0, count: entries.count * 2)
        for entry in entries where entry != 0 { Self.place(entry, in: &bigger) }
        entries = bigger
    }

    var storageBytes: Int { entries.count * 8 }
}
