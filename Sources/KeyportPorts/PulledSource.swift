/// Input pulled from the caller's function, such as a download handed over from another thread. The first
/// bytes are read ahead (to tell gzip from JSON) and handed on before the rest.
struct PulledSource: ByteSource {
    let pull: (UnsafeMutableRawBufferPointer) throws(PortsLoadError) -> Int
    /// Read ahead and not yet handed on.
    var head: [UInt8] = []
    private(set) var inputBytes = 0

    init(pull: @escaping (UnsafeMutableRawBufferPointer) throws(PortsLoadError) -> Int) {
        self.pull = pull
    }

    /// The first two bytes (fewer only when the input is shorter), kept to be read again.
    mutating func peekTwo() throws(PortsLoadError) -> (UInt8, UInt8)? {
        var scratch: (UInt8, UInt8) = (0, 0)
        while head.count < 2 {
            let n = try withUnsafeMutableBytes(of: &scratch) { (bytes) throws(PortsLoadError) -> Int in
                try pull(UnsafeMutableRawBufferPointer(rebasing: bytes[..<(2 - head.count)]))
            }
            if n == 0 { break }
            head.append(scratch.0)
            if n == 2 { head.append(scratch.1) }
        }
        return head.count == 2 ? (head[0], head[1]) : nil
    }

    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws(PortsLoadError) -> Int {
        guard buffer.count > 0 else { return 0 }
        let n: Int
        if head.isEmpty {
            n = try pull(buffer)
        } else {
            n = Swift.min(buffer.count, head.count)
            for i in 0..<n { buffer[i] = head[i] }
            head.removeFirst(n)
        }
        inputBytes += n
        return n
    }
}
