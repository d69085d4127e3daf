import CKeyportShims
import KeyportPorts
import NIOCore
import NIOHTTP1
import NIOPosix
import SystemLibC

/// `GET /key/{length}[?encoding=hex|base64]`: `length` bytes from the OS CSPRNG (getrandom(2)).
public struct KeyEndpoint: Sendable {
    public let maxSize: Int
    let metrics: KeyportMetrics?

    public init(maxSize: Int, metrics: KeyportMetrics?) {
        self.maxSize = maxSize
        self.metrics = metrics
    }

    public enum Encoding: String, Sendable {
        case raw, hex, base64
    }

    /// Keys above this size are generated on the thread pool so a 1 MiB key never stalls an event loop.
    public static let offloadThreshold = 64 * 1024

    /// Validates on the event loop, then generates there (small keys) or on `threadPool` (large ones).
    public func reply(_ request: Request, length text: Substring, context: RouteContext, threadPool: NIOThreadPool) throws(HTTPError) -> Reply {
        let length = try parseLength(text)
        let encoding = try parseEncoding(request)
        guard length > Self.offloadThreshold else { return .now(makeResponse(length: length, encoding: encoding)) }
        return .later(threadPool.runIfActive(eventLoop: context.eventLoop) { makeResponse(length: length, encoding: encoding) })
    }

    /// Built once, headers serialized: a key's response then costs no allocation for its head.
    static let rawResponse = Response(
        status: .ok, headers: HTTPHeaders([("Content-Type", "application/octet-stream"), ("Cache-Control", "no-store")])
    ).preformatted()
    static let textResponse = Response(
        status: .ok, headers: HTTPHeaders([("Content-Type", "text/plain; charset=us-ascii"), ("Cache-Control", "no-store")])
    ).preformatted()

    func makeResponse(length: Int, encoding: Encoding) -> Response {
        var response = encoding == .raw ? Self.rawResponse : Self.textResponse
        switch encoding {
        case .raw where length <= Response.inlineBodyLimit:
            // The writer draws the bytes into the response buffer itself (not at all for HEAD).
            response.body = .random(count: length)
        case .raw:
            var body = ByteBuffer()
            body.writeRandomBytes(count: length)
            response.body = .buffer(body)
        case .hex, .base64:
            var bytes = [UInt8](repeating: 0, count: length)
            bytes.withUnsafeMutableBytes { Self.fillRandom($0) }
            let text = encoding == .hex ? KeyEncoding.hex(bytes) : KeyEncoding.base64(bytes)
            // Long text gets a buffer of its own, written after the head rather than copied into it; for keys
            // over 64 KiB this copy runs on the thread pool, with the encoding.
            response.body = text.count <= Response.inlineBodyLimit ? .bytes(text) : .buffer(ByteBuffer(bytes: text))
        }
        metrics?.recordKeyLength(length)
        return response
    }

    func parseLength(_ text: Substring) throws(HTTPError) -> Int {
        let isDecimal = !text.isEmpty && text.utf8.count <= 8 && text.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
        guard isDecimal, let length = Int(text), (1...maxSize).contains(length) else {
            let shown = text.count > 32 ? String(text.prefix(32)) + "…" : String(text)
            throw HTTPError(
                .badRequest,
                "invalid key length \"\(shown)\": expected a decimal integer in 1...\(maxSize) (--max-size)")
        }
        return length
    }

    func parseEncoding(_ request: Request) throws(HTTPError) -> Encoding {
        // Most requests have no query: skip splitting it.
        guard !request.query.isEmpty else { return .raw }
        guard let items = request.queryItems() else {
            throw HTTPError(.badRequest, "malformed query string")
        }
        var encoding = Encoding.raw
        for (name, value) in items {
            guard name == "encoding" else {
                throw HTTPError(.badRequest, "unknown query parameter \"\(name)\": only \"encoding\" is accepted")
            }
            guard let parsed = Encoding(rawValue: value.lowercased()), parsed != .raw else {
                throw HTTPError(.badRequest, "unknown encoding \"\(value)\": expected hex or base64")
            }
            encoding = parsed
        }
        return encoding
    }

    /// Fills `buffer` from the kernel CSPRNG (getrandom(2), which blocks only before the pool is first seeded).
    public static func fillRandom(_ buffer: UnsafeMutableRawBufferPointer) {
        guard buffer.count > 0 else { return }
        // getrandom cannot fail with valid arguments on Linux ≥ 3.17; never serve predictable bytes.
        guard keyport_random_fill(buffer.baseAddress!, buffer.count) == 0 else { fatalError("getrandom failed: errno \(errno)") }
    }
}

/// Text encodings of key bytes.
public enum KeyEncoding {
    private static let base64Alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    public static func hex(_ bytes: [UInt8]) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: bytes.count * 2) { out, count in
            bytes.withUnsafeBytes { ASCIIHex.encode($0, into: UnsafeMutableRawBufferPointer(out)) }
            count = bytes.count * 2
        }
    }

    /// Standard base64 (RFC 4648 §4) with padding.
    public static func base64(_ bytes: [UInt8]) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var index = 0
        while index + 3 <= bytes.count {
            let chunk = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2])
            for shift in [18, 12, 6, 0] { out.append(base64Alphabet[Int(chunk >> UInt32(shift) & 0x3F)]) }
            index += 3
        }
        let rest = bytes.count - index
        if rest > 0 {
            let chunk = UInt32(bytes[index]) << 16 | (rest == 2 ? UInt32(bytes[index + 1]) << 8 : 0)
            out.append(base64Alphabet[Int(chunk >> 18 & 0x3F)])
            out.append(base64Alphabet[Int(chunk >> 12 & 0x3F)])
            out.append(rest == 2 ? base64Alphabet[Int(chunk >> 6 & 0x3F)] : UInt8(ascii: "="))
            out.append(UInt8(ascii: "="))
        }
        return out
    }
}
