/// The frozen records of one load: blobs in 1 MiB blocks, ids in order, and the indexes. Never mutated.
final class SnapshotTables: Sendable {
    let blocks: [[UInt8]]
    /// Blob address of each record, in id (byte) order; a record's position is its index here.
    let order: [UInt32]
    /// `position << 32 | offset of the unloc string in that record's blob`, for unlocs other than the own id.
    let unlocRefs: [UInt64]
    /// unloc → index in `unlocRefs`.
    let unlocTable: KeyTable
    let countries: [String]
    let timezones: [String]
    /// Lower-cased country name → index in `countryGroups`.
    let countryGroupOfKey: [String: Int]
    /// Positions of the records of each country, ascending.
    let countryGroups: [[UInt32]]
    let statistics: PortsLoadStatistics

    init(
        blocks: [[UInt8]], order: [UInt32], unlocRefs: [UInt64], unlocTable: KeyTable,
        countries: [String], timezones: [String], countryGroupOfKey: [String: Int], countryGroups: [[UInt32]],
        statistics: PortsLoadStatistics
    ) {
        self.blocks = blocks
        self.order = order
        self.unlocRefs = unlocRefs
        self.unlocTable = unlocTable
        self.countries = countries
        self.timezones = timezones
        self.countryGroupOfKey = countryGroupOfKey
        self.countryGroups = countryGroups
        self.statistics = statistics
    }

    static let empty = SnapshotTables(
        blocks: [], order: [], unlocRefs: [],
        unlocTable: KeyTable(minimumCapacity: 0), countries: [], timezones: [], countryGroupOfKey: [:],
        countryGroups: [], statistics: PortsLoadStatistics(records: 0, recordsParsed: 0, duplicatesReplaced: 0, bytesRead: 0))

    @inline(__always)
    func withBlob<R>(at position: Int, _ body: (UnsafePointer<UInt8>) -> R) -> R {
        SnapshotBuilder.withBlob(in: blocks, order[position], body)
    }

    @inline(__always)
    func compareID(at position: Int, with key: UnsafeBufferPointer<UInt8>) -> Int {
        withBlob(at: position) { compareBytes(RecordBlob.id($0), key) }
    }

    /// Binary search in id order: no hash table to build or to hold (ids are the sorted keys already).
    func position(ofID key: UnsafeBufferPointer<UInt8>) -> Int? {
        let index = firstIndex(after: key, count: order.count) { $0 } - 1
        return index >= 0 && compareID(at: index, with: key) == 0 ? index : nil
    }

    func position(listing key: UnsafeBufferPointer<UInt8>) -> Int? {
        guard !unlocRefs.isEmpty, key.count > 0, let base = key.baseAddress else { return nil }
        let hash = KeyTable.hash(base, count: key.count)
        let ref = unlocTable.find(hash: hash) { ref in
            let entry = unlocRefs[ref]
            return withBlob(at: Int(entry >> 32)) { p in
                var i = Int(UInt32(truncatingIfNeeded: entry))
                let n = RecordBlob.readVarint(p, &i)
                return compareBytes(UnsafeBufferPointer(start: p + i, count: n), key) == 0
            }
        }
        return ref.map { Int(unlocRefs[$0] >> 32) }
    }

    /// The first index in `positions` (ascending positions) whose id sorts after `key`.
    func firstIndex(after key: UnsafeBufferPointer<UInt8>, count: Int, position: (Int) -> Int) -> Int {
        var low = 0
        var high = count
        while low < high {
            let mid = (low + high) / 2
            if compareID(at: position(mid), with: key) <= 0 { low = mid + 1 } else { high = mid }
        }
        return low
    }

    func id(at position: Int) -> String {
        withBlob(at: position) { String(decoding: RecordBlob.id($0), as: UTF8.self) }
    }

    func record(at position: Int) -> PortRecord {
        withBlob(at: position) { p in
            let view = BlobView(p)
            @inline(__always) func string(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
                String(decoding: bytes, as: UTF8.self)
            }
            return PortRecord(
                id: string(view.id),
                name: string(view.name),
                city: string(view.city),
                country: countries[view.country],
                alias: view.strings(listAt: view.aliasOffset),
                regions: view.strings(listAt: view.regionsOffset),
                coordinates: view.longitude.map { [string($0), string(view.latitude!)] },
                province: view.province.map(string),
                timezone: view.timezone.map { timezones[$0] },
                unlocs: view.strings(listAt: view.unlocsOffset),
                code: view.code.map(string))
        }
    }

    var storageBytes: Int {
        blocks.reduce(0) { $0 + $1.capacity } + order.count * 4 + unlocRefs.count * 8
            + unlocTable.storageBytes + countryGroups.reduce(0) { $0 + $1.count * 4 }
    }
}
