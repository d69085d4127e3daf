/// What a load read and kept, for logs and metrics.
public struct PortsLoadStatistics: Sendable, Equatable {
    /// Records kept (distinct ids).
    public var records: Int
    /// Records read, counting every duplicate.
    public var recordsParsed: Int
    /// Records that replaced an earlier record with the same id.
    public var duplicatesReplaced: Int
    /// Size of the input.
    public var bytesRead: Int

    public init(records: Int, recordsParsed: Int, duplicatesReplaced: Int, bytesRead: Int) {
        self.records = records
        self.recordsParsed = recordsParsed
        self.duplicatesReplaced = duplicatesReplaced
        self.bytesRead = bytesRead
    }
}
