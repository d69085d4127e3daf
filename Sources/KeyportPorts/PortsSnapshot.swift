/// An immutable, compact set of ports, as loaded from one file: look-ups by id (or by any id a record lists
/// in `unlocs`), paging in id order, filtering by country. Cheap to copy and share across threads.
public struct PortsSnapshot: Sendable {
    let tables: SnapshotTables

    init(tables: SnapshotTables) { self.tables = tables }

    /// No ports (before the first load).
    public static let empty = PortsSnapshot(tables: .empty)

    /// Records kept (distinct ids).
    public var count: Int { tables.order.count }

    /// What the load read and kept.
    public var statistics: PortsLoadStatistics { tables.statistics }

    /// Approximate bytes held by this snapshot (arena blocks and indexes).
    public var storageBytes: Int { tables.storageBytes }

    /// Distinct country names, as written in the file.
    public var countries: [String] { tables.countries }

    /// The record with this id, else the first record (in id order) that lists `id` in its `unlocs`.
    public func record(id: String) -> PortRecord? {
        position(of: id).map { tables.record(at: $0) }
    }

    /// Appends the JSON of `record(id:)` straight from the stored bytes, without making the record's strings
    /// and arrays; `false`, and nothing appended, when no record has or lists `id`.
    public func appendJSON(ofID id: String, into out: inout [UInt8]) -> Bool {
        guard let position = position(of: id) else { return false }
        PortsJSON.appendStoredRecord(at: position, of: tables, into: &out)
        return true
    }

    /// The position of the record with this id, else of the first one (in id order) that lists it.
    private func position(of id: String) -> Int? {
        id.withUTF8Bytes { key in tables.position(ofID: key) ?? tables.position(listing: key) }
    }

    /// The record at a position in id order (`0 ..< count`).
    public func record(at index: Int) -> PortRecord {
        precondition(index >= 0 && index < count, "record index out of range")
        return tables.record(at: index)
    }

    /// The id at a position in id order.
    public func id(at index: Int) -> String {
        precondition(index >= 0 && index < count, "record index out of range")
        return tables.id(at: index)
    }

    /// Up to `limit` records in id (UTF-8 byte) order whose id sorts after `after` (exclusive), optionally only
    /// those of one country (exact name, case-insensitive). `next` is the last id returned when more remain.
    public func page(after: String?, limit: Int, country: String?) -> PortsPage {
        let limit = Swift.max(0, limit)
        if let country {
            guard let group = tables.countryGroupOfKey[country.lowercased()] else {
                return PortsPage(tables: tables, positions: [], next: nil)
            }
            let positions = tables.countryGroups[group]
            let start = after.map { cursor in
                cursor.withUTF8Bytes { key in
                    tables.firstIndex(after: key, count: positions.count) { Int(positions[$0]) }
                }
            } ?? 0
            let end = start + Swift.min(limit, positions.count - start)
            let selected = Array(positions[start..<end])
            let next = end < positions.count && end > start ? tables.id(at: Int(positions[end - 1])) : nil
            return PortsPage(tables: tables, positions: selected, next: next)
        }
        let total = count
        let start = after.map { cursor in
            cursor.withUTF8Bytes { key in tables.firstIndex(after: key, count: total) { $0 } }
        } ?? 0
        let end = start + Swift.min(limit, total - start)
        let selected = (start..<end).map { UInt32($0) }
        let next = end < total && end > start ? tables.id(at: end - 1) : nil
        return PortsPage(tables: tables, positions: selected, next: next)
    }
}
