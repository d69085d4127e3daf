import SystemLibC

/// Where the parser's bytes come from: it asks for at most one buffer's worth at a time.
protocol ByteSource {
    /// Fills the start of `buffer`; returns the number of bytes written, 0 at the end of the input.
    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws(PortsLoadError) -> Int
    /// Bytes taken from the underlying input so far (compressed bytes where it is compressed).
    var inputBytes: Int { get }
}

/// In-memory input split into chunks of any sizes (the chunk boundaries are preserved, to test them).
struct ChunksSource: ByteSource {
    let chunks: [[UInt8]]
    var chunkIndex = 0
    var offsetInChunk = 0
    private(set) var inputBytes = 0

    init(_ chunks: [[UInt8]]) { self.chunks = chunks }

    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws(PortsLoadError) -> Int {
        while chunkIndex < chunks.count && offsetInChunk == chunks[chunkIndex].count {
            chunkIndex += 1
            offsetInChunk = 0
        }
        guard chunkIndex < chunks.count else { return 0 }
        let n = Swift.min(buffer.count, chunks[chunkIndex].count - offsetInChunk)
        chunks[chunkIndex].withUnsafeBytes { bytes in
            buffer.baseAddress!.copyMemory(from: bytes.baseAddress! + offsetInChunk, byteCount: n)
        }
        offsetInChunk += n
        inputBytes += n
        return n
    }
}

/// A file read with `read(2)` into the parser's buffer: nothing else of the file is ever held.
/// The owner calls `close()` when done.
struct FileSource: ByteSource {
    let path: String
    let descriptor: Int32
    var position = 0
    var inputBytes: Int { position }

    init(path: String) throws(PortsLoadError) {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw PortsLoadError(kind: .io, source: path, offset: nil, message: "cannot open: \(Self.errnoText())")
        }
        var info = stat()
        if fstat(fd, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR {
            _ = SystemLibC.close(fd)
            throw PortsLoadError(kind: .io, source: path, offset: nil, message: "cannot read: is a directory, expected a JSON file")
        }
        self.descriptor = fd
    }

    /// Closes the file; called with `defer` by the owner.
    func close() { _ = SystemLibC.close(descriptor) }

    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws(PortsLoadError) -> Int {
        while true {
            let n = SystemLibC.read(descriptor, buffer.baseAddress, buffer.count)
            if n >= 0 {
                position += n
                return n
            }
            if errno == EINTR { continue }
            throw PortsLoadError(kind: .io, source: path, offset: position, message: "read failed: \(Self.errnoText())")
        }
    }

    static func errnoText() -> String {
        String(cString: strerror(errno))
    }
}
