import CZlib
import SystemLibC

/// Gzip input inflated as it is read (zlib, `inflate` with gzip header handling): the parser sees the JSON,
/// and memory is zlib's 32 KiB window plus one input buffer, whatever the input's size. Concatenated gzip
/// members (as `cat a.gz b.gz` makes) are read one after the other. The owner calls `close()` (which leaves
/// the compressed input to its owner).
struct GzipSource<Compressed: ByteSource>: ByteSource {
    var compressed: Compressed
    /// The file path or download URL, for messages.
    let sourceName: String
    let stream: UnsafeMutablePointer<z_stream>
    let input: UnsafeMutableRawBufferPointer
    var inputEnded = false
    var finished = false
    var inputBytes: Int { compressed.inputBytes }

    /// The two bytes every gzip member starts with.
    static var magic: (UInt8, UInt8) { (0x1F, 0x8B) }

    init(compressed: Compressed, sourceName: String, bufferSize: Int) throws(PortsLoadError) {
        self.compressed = compressed
        self.sourceName = sourceName
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        input = .allocate(byteCount: bufferSize, alignment: 1)
        // 15 + 16: the largest window, and a gzip header and trailer (CRC-32 and length, both checked).
        guard inflateInit2_(stream, 15 + 16, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            input.deallocate()
            stream.deallocate()
            throw PortsLoadError(kind: .io, source: sourceName, offset: nil, message: "gzip: zlib could not start")
        }
    }

    func close() {
        inflateEnd(stream)
        stream.deallocate()
        input.deallocate()
    }

    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws(PortsLoadError) -> Int {
        guard !finished, buffer.count > 0 else { return 0 }
        stream.pointee.next_out = buffer.baseAddress!.assumingMemoryBound(to: Bytef.self)
        stream.pointee.avail_out = UInt32(buffer.count)
        while stream.pointee.avail_out == UInt32(buffer.count) {
            if stream.pointee.avail_in == 0 && !inputEnded {
                let n = try compressed.read(into: input)
                inputEnded = n == 0
                stream.pointee.next_in = input.baseAddress!.assumingMemoryBound(to: Bytef.self)
                stream.pointee.avail_in = UInt32(n)
            }
            let status = inflate(stream, Z_NO_FLUSH)
            switch status {
            case Z_STREAM_END:
                // Another member may follow; only whitespace-free end of file ends the stream.
                if stream.pointee.avail_in == 0 && !inputEnded {
                    let n = try compressed.read(into: input)
                    inputEnded = n == 0
                    stream.pointee.next_in = input.baseAddress!.assumingMemoryBound(to: Bytef.self)
                    stream.pointee.avail_in = UInt32(n)
                }
                if stream.pointee.avail_in == 0 {
                    finished = true
                    return buffer.count - Int(stream.pointee.avail_out)
                }
                inflateReset(stream)
            case Z_OK:
                continue
            case Z_BUF_ERROR where inputEnded && stream.pointee.avail_in == 0:
                throw error("the compressed data ends early (truncated file)")
            case Z_BUF_ERROR:
                continue
            default:
                let reason = stream.pointee.msg.map { String(cString: $0) } ?? "zlib error \(status)"
                throw error("corrupt compressed data (\(reason))")
            }
        }
        return buffer.count - Int(stream.pointee.avail_out)
    }

    private func error(_ message: String) -> PortsLoadError {
        let at = compressed.inputBytes - Int(stream.pointee.avail_in)
        return PortsLoadError(kind: .io, source: sourceName, offset: nil, message: "gzip: \(message) at compressed byte \(at)")
    }
}

/// Ports input as the parser reads it: plain JSON, or gzip recognised by its magic bytes whatever its name.
enum PortsInput<Raw: ByteSource>: ByteSource {
    case plain(Raw)
    case gzip(GzipSource<Raw>)

    /// Starts inflating `raw` when `head` (its first bytes) is the gzip magic.
    static func choose(_ raw: Raw, head: (UInt8, UInt8)?, sourceName: String, bufferSize: Int) throws(PortsLoadError) -> PortsInput {
        guard let head, head == GzipSource<Raw>.magic else { return .plain(raw) }
        return .gzip(try GzipSource(compressed: raw, sourceName: sourceName, bufferSize: bufferSize))
    }

    var inputBytes: Int {
        switch self {
        case .plain(let raw): raw.inputBytes
        case .gzip(let gzip): gzip.inputBytes
        }
    }

    var isCompressed: Bool {
        if case .gzip = self { return true }
        return false
    }

    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws(PortsLoadError) -> Int {
        switch self {
        case .plain(var raw):
            defer { self = .plain(raw) }
            return try raw.read(into: buffer)
        case .gzip(var gzip):
            defer { self = .gzip(gzip) }
            return try gzip.read(into: buffer)
        }
    }

    /// Frees zlib's state; the raw input stays open (its owner closes it).
    func closeDecompression() {
        if case .gzip(let gzip) = self { gzip.close() }
    }
}

/// A ports file: its first two bytes are read with `pread` to tell gzip from JSON.
typealias PortsFileInput = PortsInput<FileSource>

extension PortsInput where Raw == FileSource {
    static func open(path: String, bufferSize: Int) throws(PortsLoadError) -> PortsFileInput {
        let file = try FileSource(path: path)
        var head: (UInt8, UInt8) = (0, 0)
        let sniffed = withUnsafeMutableBytes(of: &head) { pread(file.descriptor, $0.baseAddress, 2, 0) }
        do throws(PortsLoadError) {
            return try choose(file, head: sniffed == 2 ? head : nil, sourceName: path, bufferSize: bufferSize)
        } catch {
            file.close()
            throw error
        }
    }

    func close() {
        closeDecompression()
        switch self {
        case .plain(let file): file.close()
        case .gzip(let gzip): gzip.compressed.close()
        }
    }
}
