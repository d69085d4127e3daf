/// Loads a ports file by streaming it in fixed-size chunks; never holds the whole file. A gzip file (by its
/// magic bytes) is inflated as it is read.
public enum PortsFileLoader {
    /// Blocking (file I/O and parsing): call it off any event loop. `observer` sees the progress and may stop the load.
    public static func load(
        path: String, options: PortsParseOptions = PortsParseOptions(), observer: PortsLoadObserver? = nil
    ) throws(PortsLoadError) -> PortsSnapshot {
        let source = try PortsFileInput.open(path: path, bufferSize: options.chunkSize)
        defer { source.close() }
        do throws(PortsLoadError) {
            var parser = StreamParser(source: source, sourceName: path, options: options, observer: observer)
            defer { parser.deallocate() }
            return try parser.parseDocument()
        } catch {
            var located = error
            if source.isCompressed, error.kind != .io, error.kind != .memory {
                located.message += " (offsets count the uncompressed JSON)"
            }
            if error.kind != .io, error.kind != .memory,
                var rescan = try? PortsFileInput.open(path: path, bufferSize: options.chunkSize)
            {
                LineColumn.locate(&located, rereading: &rescan)
                rescan.close()
            }
            throw located
        }
    }
}
