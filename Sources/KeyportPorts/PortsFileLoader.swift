/// Loads a ports file by streaming it in fixed-size chunks; never holds the whole file.
public enum PortsFileLoader {
    /// Blocking (file I/O and parsing): call it off any event loop. `observer` sees the progress and may stop the load.
    public static func load(
        path: String, options: PortsParseOptions = PortsParseOptions(), observer: PortsLoadObserver? = nil
    ) throws(PortsLoadError) -> PortsSnapshot {
        let source = try FileSource(path: path)
        defer { source.close() }
        do throws(PortsLoadError) {
            var parser = StreamParser(source: source, sourceName: path, options: options, observer: observer)
            defer { parser.deallocate() }
            return try parser.parseDocument()
        } catch {
            var located = error
            if error.kind != .io, error.kind != .memory, var rescan = try? FileSource(path: path) {
                LineColumn.locate(&located, rereading: &rescan)
                rescan.close()
            }
            throw located
        }
    }
}
