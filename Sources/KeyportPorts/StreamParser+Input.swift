/// Input: the chunk buffer, refilled from the source, and byte-level peeking.
extension StreamParser {
    var offset: Int { base + pos }

    /// Called only when every buffered byte is consumed; false at the end of the input.
    @inline(never)
    mutating func refill() throws(PortsLoadError) -> Bool {
        if atEOF { return false }
        base += end
        pos = 0
        end = 0
        if base >= nextReport { try report(parsed: false) }
        let n = try source.read(into: UnsafeMutableRawBufferPointer(start: buffer, count: options.chunkSize))
        if n == 0 {
            atEOF = true
            return false
        }
        end = n
        return true
    }

    /// The next byte that is not JSON whitespace, not consumed; nil at the end of the input.
    @inline(__always)
    mutating func peekSignificant() throws(PortsLoadError) -> UInt8? {
        while true {
            let p = buffer
            var i = pos
            let e = end
            i = SWAR.firstNonBlank(p, from: i, to: e)
            while i < e {
                let c = p[i]
                if c > 0x20 {
                    pos = i
                    return c
                }
                if c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 {
                    i += 1
                    continue
                }
                pos = i
                return c
            }
            pos = i
            if try !refill() { return nil }
        }
    }

    /// The next byte, not consumed; nil at the end of the input.
    @inline(__always)
    mutating func peekByte() throws(PortsLoadError) -> UInt8? {
        if pos == end, try !refill() { return nil }
        return buffer[pos]
    }

    /// Consumes and returns the next byte; nil at the end of the input.
    @inline(__always)
    mutating func nextByte() throws(PortsLoadError) -> UInt8? {
        if pos == end, try !refill() { return nil }
        let c = buffer[pos]
        pos += 1
        return c
    }

    mutating func skipByteOrderMark() throws(PortsLoadError) {
        guard try peekByte() == 0xEF else { return }
        for expectedByte: UInt8 in [0xEF, 0xBB, 0xBF] {
            let at = offset
            let c = try nextByte()
            guard c == expectedByte else {
                throw fail(.encoding, at: at, "invalid UTF-8 at the start of the input (an incomplete byte order mark)")
            }
        }
    }
}
