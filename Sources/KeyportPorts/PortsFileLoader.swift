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
            throw located(error, compressed: source.isCompressed, rereading: path, options: options)
        }
    }

    /// Parses input that arrives as it is produced (a download): `pull` fills the start of its buffer, blocking
    /// until it can, and returns the count, 0 at the end; its error ends the load. Gzip is recognised by its
    /// magic bytes as for files. `copy`, when given, is a file that holds the bytes pulled so far: it is read
    /// again only on a parse error, for the line and column. Blocking: call it off any event loop.
    public static func load(
        streamNamed name: String, copy: String? = nil, options: PortsParseOptions = PortsParseOptions(),
        observer: PortsLoadObserver? = nil, pull: @escaping (UnsafeMutableRawBufferPointer) throws(PortsLoadError) -> Int
    ) throws(PortsLoadError) -> PortsSnapshot {
        var raw = PulledSource(pull: pull)
        let head = try raw.peekTwo()
        let source = try PortsInput.choose(raw, head: head, sourceName: name, bufferSize: options.chunkSize)
        defer { source.closeDecompression() }
        do throws(PortsLoadError) {
            var parser = StreamParser(source: source, sourceName: name, options: options, observer: observer)
            defer { parser.deallocate() }
            return try parser.parseDocument()
        } catch {
            throw located(error, compressed: source.isCompressed, rereading: copy, options: options)
        }
    }

    /// A parse error with its offsets explained for compressed input and its line and column found by reading
    /// `path` again (I/O and memory errors are returned as they are).
    private static func located(
        _ error: PortsLoadError, compressed: Bool, rereading path: String?, options: PortsParseOptions
    ) -> PortsLoadError {
        guard error.kind != .io, error.kind != .memory else { return error }
        var located = error
        if compressed { located.message += " (offsets count the uncompressed JSON)" }
        if let path, var rescan = try? PortsFileInput.open(path: path, bufferSize: options.chunkSize) {
            LineColumn.locate(&located, rereading: &rescan)
            rescan.close()
        }
        return located
    }
}
