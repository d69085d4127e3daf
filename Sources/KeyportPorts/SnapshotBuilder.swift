/// Accumulates parsed records into 1 MiB arena blocks (no big reallocation copies), upserting by id (the
/// last record with an id wins), then freezes them into a `SnapshotTables` in id order.
struct SnapshotBuilder {
    static let blockShift = 20
    static let blockSize = 1 << blockShift
    static let offsetMask = UInt32(blockSize - 1)
    /// 4096 blocks of 1 MiB: addresses fit 32 bits.
    static let maxBlocks = 1 << (32 - blockShift)

    private var blocks: [[UInt8]] = []
    /// Blob addresses of records whose ids arrived in strictly increasing order (all of them, for a sorted file).
    private var run: [UInt32] = []
    /// Blob addresses of the other records, in file order: possible duplicates and out-of-order ids.
    private var others: [UInt32] = []
    private var countries = ByteInterner()
    private var timezones = ByteInterner()
    private var blob = ByteScratch(capacity: 4096)
    /// The id of the last record in `run`.
    private var lastRunID = ByteScratch(capacity: 64)
    private var liveBytes = 0
    private var garbageBytes = 0
    private(set) var recordsParsed = 0

    func deallocate() {
        blob.deallocate()
        lastRunID.deallocate()
    }

    enum Failure: Error { case storeTooLarge }

    /// Adds one record; a record with an id seen before replaces it (the file's last word wins).
    mutating func add(
        id: UnsafeBufferPointer<UInt8>, fields: borrowing RecordFields, values: UnsafePointer<UInt8>
    ) throws(Failure) {
        @inline(__always) func put(_ span: ByteSpan, _ blob: inout ByteScratch) {
            RecordBlob.appendVarint(span.count, to: &blob)
            blob.append(values + span.start, count: span.count)
        }
        @inline(__always) func putList(_ spans: [ByteSpan], _ blob: inout ByteScratch) {
            RecordBlob.appendVarint(spans.count, to: &blob)
            for span in spans { put(span, &blob) }
        }
        recordsParsed += 1
        let country = fields.country!
        let countryIndex = countries.intern(values + country.start, count: country.count)
        var flags: UInt8 = 0
        if fields.longitude != nil { flags |= RecordBlob.hasCoordinates }
        if fields.province != nil { flags |= RecordBlob.hasProvince }
        if fields.timezone != nil { flags |= RecordBlob.hasTimezone }
        if fields.code != nil { flags |= RecordBlob.hasCode }
        blob.count = 0
        blob.append(flags)
        RecordBlob.appendVarint(id.count, to: &blob)
        blob.append(id.baseAddress!, count: id.count)
        put(fields.name!, &blob)
        put(fields.city!, &blob)
        RecordBlob.appendVarint(countryIndex, to: &blob)
        if let timezone = fields.timezone {
            RecordBlob.appendVarint(timezones.intern(values + timezone.start, count: timezone.count), to: &blob)
        }
        if let province = fields.province { put(province, &blob) }
        if let code = fields.code { put(code, &blob) }
        if let longitude = fields.longitude, let latitude = fields.latitude {
            put(longitude, &blob)
            put(latitude, &blob)
        }
        putList(fields.alias, &blob)
        putList(fields.regions, &blob)
        putList(fields.unlocs, &blob)
        for unloc in fields.unlocs where unloc.count != id.count || !memcmpEqual(values + unloc.start, id.baseAddress!, id.count) {
            blob.base[0] |= RecordBlob.hasForeignUnloc
            break
        }

        let address = try store(blob.bufferPointer)
        liveBytes += blob.count
        // Sorted input (the usual case) needs no hash table and no sort: each id just follows the previous one.
        if !run.isEmpty, compareBytes(lastRunID.bufferPointer, id) >= 0 {
            others.append(address)
            if others.count > Swift.max(64 * 1024, run.count / 2) { try mergeRuns() }
        } else {
            run.append(address)
            lastRunID.count = 0
            lastRunID.append(id.baseAddress!, count: id.count)
        }
    }

    /// Sorts the out-of-order records into the run, the later of equal ids winning, so that memory follows the
    /// records kept even for a file that repeats ids without end.
    private mutating func mergeRuns() throws(Failure) {
        guard !others.isEmpty else { return }
        let blocks = self.blocks
        @inline(__always) func compare(_ a: UInt32, _ b: UInt32) -> Int {
            Self.withBlob(in: blocks, a) { pa in
                Self.withBlob(in: blocks, b) { pb in compareBytes(RecordBlob.id(pa), RecordBlob.id(pb)) }
            }
        }
        // Stable: among equal ids the file order stays, so the last one is the one to keep.
        var pending = others
        others = []
        pending.sort { compare($0, $1) < 0 }
        var merged: [UInt32] = []
        merged.reserveCapacity(run.count + pending.count)
        var i = 0
        var j = 0
        var dropped = 0
        func drop(_ address: UInt32) {
            dropped += Self.withBlob(in: blocks, address) { BlobView($0).length }
        }
        while i < run.count || j < pending.count {
            var next: UInt32
            if j == pending.count || (i < run.count && compare(run[i], pending[j]) < 0) {
                next = run[i]
                i += 1
            } else {
                // An id in the run always came before the same id among the others.
                if i < run.count && compare(run[i], pending[j]) == 0 {
                    drop(run[i])
                    i += 1
                }
                next = pending[j]
                j += 1
            }
            if let last = merged.last, compare(last, next) == 0 {
                drop(last)
                merged[merged.count - 1] = next
            } else {
                merged.append(next)
            }
        }
        run = merged
        garbageBytes += dropped
        liveBytes -= dropped
        if garbageBytes > Swift.max(liveBytes / 4, 8 << 20) { try compact() }
    }

    /// Copies a blob into the current block (or a fresh one) and returns its address.
    private mutating func store(_ bytes: UnsafeBufferPointer<UInt8>) throws(Failure) -> UInt32 {
        let n = bytes.count
        if blocks.isEmpty || blocks[blocks.count - 1].count + n > Self.blockSize {
            guard blocks.count < Self.maxBlocks else { throw .storeTooLarge }
            var block: [UInt8] = []
            block.reserveCapacity(Swift.max(n, Self.blockSize))
            blocks.append(block)
        }
        let index = blocks.count - 1
        let offset = blocks[index].count
        blocks[index].append(contentsOf: bytes)
        return UInt32(index << Self.blockShift | offset)
    }

    @inline(__always)
    private func withBlob<R>(_ address: UInt32, _ body: (UnsafePointer<UInt8>) -> R) -> R {
        blocks[Int(address >> UInt32(Self.blockShift))].withUnsafeBufferPointer {
            body($0.baseAddress! + Int(address & Self.offsetMask))
        }
    }

    /// Drops the blobs of replaced records once they weigh enough: memory follows the records kept.
    private mutating func compact() throws(Failure) {
        let old = blocks
        blocks = []
        for index in run.indices {
            let address = run[index]
            let block = old[Int(address >> UInt32(Self.blockShift))]
            run[index] = try block.withUnsafeBufferPointer { buffer throws(Failure) -> UInt32 in
                let p = buffer.baseAddress! + Int(address & Self.offsetMask)
                return try store(UnsafeBufferPointer(start: p, count: BlobView(p).length))
            }
        }
        garbageBytes = 0
    }

    /// Freezes the records: id order, indexes by id, by listed unlocs and by country.
    mutating func freeze(bytesRead: Int) throws(Failure) -> SnapshotTables {
        try mergeRuns()
        // Compacting copies the arena: only worth it when a good share of it is dead.
        if garbageBytes > liveBytes / 4 { try compact() }
        let order = run
        run = []

        let countryNames = countries.strings()
        var groupOfKey: [String: Int] = [:]
        var groupOfCountry: [Int] = []
        for name in countryNames {
            let key = name.lowercased()
            if let group = groupOfKey[key] {
                groupOfCountry.append(group)
            } else {
                groupOfKey[key] = groupOfKey.count
                groupOfCountry.append(groupOfKey.count - 1)
            }
        }
        var groups = [[UInt32]](repeating: [], count: groupOfKey.count)
        var unlocRefs: [UInt64] = []
        var unlocTable = KeyTable(minimumCapacity: 16)
        for (position, address) in order.enumerated() {
            withBlob(address) { p in
                var i = 1
                for _ in 0..<3 { i += RecordBlob.readVarint(p, &i) }
                groups[groupOfCountry[RecordBlob.readVarint(p, &i)]].append(UInt32(position))
                guard p[0] & RecordBlob.hasForeignUnloc != 0 else { return }
                let view = BlobView(p)
                view.forEach(listAt: view.unlocsOffset) { unloc, offsetInBlob in
                    guard compareBytes(unloc, view.id) != 0 else { return }
                    let hash = KeyTable.hash(unloc.baseAddress!, count: unloc.count)
                    let known = unlocTable.find(hash: hash) { ref in
                        let entry = unlocRefs[ref]
                        return Self.withBlob(in: blocks, order[Int(entry >> 32)]) { q in
                            var i = Int(UInt32(truncatingIfNeeded: entry))
                            let n = RecordBlob.readVarint(q, &i)
                            return compareBytes(UnsafeBufferPointer(start: q + i, count: n), unloc) == 0
                        }
                    }
                    // The first record in id order that lists an unloc answers for it.
                    if known == nil {
                        unlocTable.insert(hash: hash, value: unlocRefs.count)
                        unlocRefs.append(UInt64(position) << 32 | UInt64(offsetInBlob))
                    }
                }
            }
        }
        let statistics = PortsLoadStatistics(
            records: order.count, recordsParsed: recordsParsed, duplicatesReplaced: recordsParsed - order.count, bytesRead: bytesRead)
        let frozen = SnapshotTables(
            blocks: blocks, order: order, unlocRefs: unlocRefs, unlocTable: unlocTable,
            countries: countryNames, timezones: timezones.strings(), countryGroupOfKey: groupOfKey,
            countryGroups: groups, statistics: statistics)
        blocks = []
        return frozen
    }

    @inline(__always)
    static func withBlob<R>(in blocks: [[UInt8]], _ address: UInt32, _ body: (UnsafePointer<UInt8>) -> R) -> R {
        blocks[Int(address >> UInt32(blockShift))].withUnsafeBufferPointer {
            body($0.baseAddress! + Int(address & offsetMask))
        }
    }
}
