/// The incremental JSON parser: pulls fixed-size chunks from a `ByteSource` and hands one record at a time to
/// a `SnapshotBuilder`. Memory is the chunk buffer plus the record being parsed; nesting is a bit stack.
/// Its owner calls `deallocate()` when done.
struct StreamParser<Source: ByteSource> {
    var source: Source
    let sourceName: String
    let options: PortsParseOptions
    let buffer: UnsafeMutablePointer<UInt8>
    /// Next unread byte in `buffer`, end of valid bytes, and the input offset of `buffer[0]`.
    var pos = 0
    var end = 0
    var base = 0
    var atEOF = false
    /// The current record id, field name and field values.
    var id = ByteScratch(capacity: 64)
    var key = ByteScratch(capacity: 64)
    var values = ByteScratch(capacity: 64 * 1024)
    var idIsKnown = false
    var fields = RecordFields()
    var nesting = BitStack()
    var builder = SnapshotBuilder()
    /// Called every `options.progressInterval` bytes and before freezing; may stop the load.
    let observer: PortsLoadObserver?
    var nextReport: Int

    init(source: Source, sourceName: String, options: PortsParseOptions, observer: PortsLoadObserver? = nil) {
        self.source = source
        self.sourceName = sourceName
        self.options = options
        self.observer = observer
        nextReport = options.progressInterval
        buffer = .allocate(capacity: options.chunkSize)
    }

    /// Tells the observer how far the load has got (its error, such as a memory limit, ends the load).
    mutating func report(parsed: Bool) throws(PortsLoadError) {
        guard let observer else { return }
        nextReport = offset + options.progressInterval
        try observer(PortsLoadProgress(
            bytesParsed: offset, inputBytes: source.inputBytes, recordsParsed: builder.recordsParsed, parsed: parsed))
    }

    /// Frees the buffers; called with `defer` by the owner (explicitly, so that error paths free them too).
    func deallocate() {
        buffer.deallocate()
        id.deallocate()
        key.deallocate()
        values.deallocate()
        builder.deallocate()
    }

    /// Where the bytes of a string or number being read go.
    enum Sink { case discard, id, key, values }
}
