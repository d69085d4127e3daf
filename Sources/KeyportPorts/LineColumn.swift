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
