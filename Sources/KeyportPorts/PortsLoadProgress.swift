/// How far a load has got: handed to the load's observer every `PortsParseOptions.progressInterval` bytes
/// and once more when the document is parsed, before the lookup tables are built.
public struct PortsLoadProgress: Sendable, Equatable {
    /// Bytes of JSON parsed so far.
    public var bytesParsed: Int
    /// Bytes taken from the input so far (differs from `bytesParsed` for a compressed file).
    public var inputBytes: Int
    /// Records read so far, counting duplicates.
    public var recordsParsed: Int
    /// True once the whole document is parsed (the last call).
    public var parsed: Bool

    public init(bytesParsed: Int, inputBytes: Int, recordsParsed: Int, parsed: Bool) {
        self.bytesParsed = bytesParsed
        self.inputBytes = inputBytes
        self.recordsParsed = recordsParsed
        self.parsed = parsed
    }
}

/// Watches a load as it runs (progress lines, a memory guard); throwing stops the load with that error.
public typealias PortsLoadObserver = (PortsLoadProgress) throws(PortsLoadError) -> Void
