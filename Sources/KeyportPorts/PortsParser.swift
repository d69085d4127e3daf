/// Parses ports JSON held in memory (tests, fuzzing, small inputs); files go through `PortsFileLoader`.
public enum PortsParser {
    /// Parses a whole document.
    public static func parse(
        _ bytes: [UInt8], sourceName: String = "<memory>", options: PortsParseOptions = PortsParseOptions()
    ) throws(PortsLoadError) -> PortsSnapshot {
        try parse(chunks: [bytes], sourceName: sourceName, options: options)
    }

    /// Parses a document delivered in chunks of any sizes, exactly as a stream would deliver it.
    public static func parse(
        chunks: [[UInt8]], sourceName: String = "<memory>", options: PortsParseOptions = PortsParseOptions()
    ) throws(PortsLoadError) -> PortsSnapshot {
        do throws(PortsLoadError) {
            var parser = StreamParser(source: ChunksSource(chunks), sourceName: sourceName, options: options)
            defer { parser.deallocate() }
            return try parser.parseDocument()
        } catch {
            var located = error
            var rescan = ChunksSource(chunks)
            LineColumn.locate(&located, rereading: &rescan)
            throw located
        }
    }
}
