/// One page of `PortsSnapshot.page(after:limit:country:)`: records are decoded only when asked for.
public struct PortsPage: Sendable {
    let tables: SnapshotTables
    let positions: [UInt32]
    /// The id to pass as `after` for the following page; nil on the last page.
    public let next: String?

    init(tables: SnapshotTables, positions: [UInt32], next: String?) {
        self.tables = tables
        self.positions = positions
        self.next = next
    }

    /// Number of records on the page.
    public var count: Int { positions.count }

    /// The ids, in order.
    public var ids: [String] { positions.map { tables.id(at: Int($0)) } }
}
