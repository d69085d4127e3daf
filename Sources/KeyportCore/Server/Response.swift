import NIOCore
import NIOHTTP1

/// A complete HTTP response value; the channel handler writes it, HEAD requests get it without the body.
public struct Response: Sendable {
    public var status: HTTPResponseStatus
    public var headers: HTTPHeaders {
        didSet { headerLines = nil }
    }
    public var body: Body
    /// `headers` as they go on the wire (`Name: value\r\n` each), made once for a response kept in a
    /// `static let` (`preformatted()`) and copied from there; any change to `headers` drops it.
    private(set) var headerLines: ByteBuffer?

    /// What follows the head. The writer copies every kind straight into the connection's one response
    /// buffer, so a body costs no buffer of its own.
    public enum Body: Sendable {
        case buffer(ByteBuffer)
        case bytes([UInt8])
        /// `count` bytes from the kernel CSPRNG, drawn by the writer into the response buffer itself: a
        /// key then needs neither a buffer of its own nor a copy. A `HEAD` request draws nothing.
        case random(count: Int)

        public static let empty = Body.buffer(ByteBuffer())

        /// The body's length in bytes (its `Content-Length`).
        public var count: Int {
            switch self {
            case .buffer(let buffer): buffer.readableBytes
            case .bytes(let bytes): bytes.count
            case .random(let count): count
            }
        }

        /// The body as one buffer, for callers that want the bytes themselves (tests); a `.random` body
        /// draws its bytes now.
        public var buffer: ByteBuffer {
            switch self {
            case .buffer(let buffer):
                return buffer
            case .bytes(let bytes):
                return ByteBuffer(bytes: bytes)
            case .random(let count):
                var buffer = ByteBuffer()
                buffer.writeRandomBytes(count: count)
                return buffer
            }
        }
    }

    public init(status: HTTPResponseStatus, headers: HTTPHeaders = [:], body: Body = .empty) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public init(status: HTTPResponseStatus, headers: HTTPHeaders = [:], body: ByteBuffer) {
        self.init(status: status, headers: headers, body: .buffer(body))
    }

    /// A response with a body of `contentType`.
    public init(status: HTTPResponseStatus = .ok, contentType: String, body: Body) {
        self.init(status: status, headers: ["Content-Type": contentType], body: body)
    }

    /// This response with its header lines serialized once: for a `static let` that responses are copied
    /// from, so that writing one costs neither a loop over `headers` nor a string copy per field.
    public func preformatted() -> Response {
        var response = self
        var lines = ByteBuffer()
        Self.writeHeaderLines(headers, into: &lines)
        response.headerLines = lines
        return response
    }

    private static let jsonOK = Response(status: .ok, contentType: "application/json", body: .empty).preformatted()

    public static func json(_ status: HTTPResponseStatus = .ok, _ bytes: [UInt8]) -> Response {
        var response = jsonOK
        response.status = status
        response.body = .bytes(bytes)
        return response
    }

    public static func text(_ status: HTTPResponseStatus = .ok, _ text: String, contentType: String = "text/plain; charset=utf-8") -> Response {
        Response(status: status, contentType: contentType, body: .buffer(ByteBuffer(string: text)))
    }

    public static let noContent = Response(status: .noContent)
}
