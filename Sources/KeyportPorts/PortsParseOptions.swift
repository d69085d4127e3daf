/// Tuning knobs of the streaming parser; the defaults suit files of any size.
public struct PortsParseOptions: Sendable, Equatable {
    /// Bytes read per `read(2)` call (the parser's only input buffer).
    public var chunkSize: Int
    /// Largest stored size of one record (its strings and numbers); a bigger record is an error, not an OOM.
    public var maxRecordBytes: Int
    /// Bytes parsed between two calls of a load's observer.
    public var progressInterval: Int

    public init(chunkSize: Int = 64 * 1024, maxRecordBytes: Int = 16 * 1024 * 1024, progressInterval: Int = 1 << 20) {
        precondition(chunkSize > 0 && maxRecordBytes > 0 && progressInterval > 0)
        self.chunkSize = chunkSize
        self.maxRecordBytes = maxRecordBytes
        self.progressInterval = progressInterval
    }
}
