/// Loads a ports file by streaming it in fixed-size chunks; never holds the whole file.
public enum PortsFileLoader {
    /// Blocking (file I/O and parsing): call it off any event loop.
    public static func load(
        path: String, options: PortsParseOptions = PortsParseOptions()
    ) throws(PortsLoadError) -> PortsSnapshot {
        let source = try FileSource(path: path)
        defer { source.close() }
        do throws(PortsLoadError) {
            var parser = StreamParser(source: source, sourceName: path, options: options)
            defer { parser.deallocate() }
            return try parser.parseDocument()
        } catch {
            var located = error
            if error.kind != .io, var rescan = try? FileSource(path: path) {
                LineColumn.locate(&located, rereading: &rescan)
                rescan.close()
            }
            throw located
        }
    }
}
