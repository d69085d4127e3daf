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

/// Line and column of an error offset, found by reading the input again: nothing is counted on the fast path.
enum LineColumn {
    static func locate<Source: ByteSource>(_ error: inout PortsLoadError, rereading source: inout Source) {
        guard let target = error.offset else { return }
        var line = 1
        var column = 1
        var seen = 0
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 1)
        defer { chunk.deallocate() }
        while seen < target {
            guard let n = try? source.read(into: chunk), n > 0 else { break }
            let bytes = chunk.bindMemory(to: UInt8.self)
            for i in 0..<Swift.min(n, target - seen) {
                let c = bytes[i]
                if c == 0x0A {
                    line += 1
                    column = 1
                } else if c & 0xC0 != 0x80 {
                    column += 1
                }
            }
            seen += n
        }
        // The input changed or shrank since the parse: no position rather than a wrong one.
        guard seen >= target else { return }
        error.line = line
        error.column = column
    }
}
