import NIOCore
import NIOHTTP1

/// A complete HTTP response value; the channel handler writes it, HEAD requests get it without the body.
public struct Response: Sendable {
    public var status: HTTPResponseStatus
    public var headers: HTTPHeaders
    public var body: ByteBuffer

    public init(status: HTTPResponseStatus, headers: HTTPHeaders = [:], body: ByteBuffer = ByteBuffer()) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A response with a body of `contentType`.
    public init(status: HTTPResponseStatus = .ok, contentType: String, body: ByteBuffer) {
        self.init(status: status, headers: ["Content-Type": contentType], body: body)
    }

    public static func json(_ status: HTTPResponseStatus = .ok, _ bytes: [UInt8]) -> Response {
        Response(status: status, contentType: "application/json", body: ByteBuffer(bytes: bytes))
    }

    public static func text(_ status: HTTPResponseStatus = .ok, _ text: String, contentType: String = "text/plain; charset=utf-8") -> Response {
        Response(status: status, contentType: contentType, body: ByteBuffer(string: text))
    }

    public static let noContent = Response(status: .noContent)

    /// The head to send: this response's headers plus `Content-Length` and the connection's fate.
    func head(version: HTTPVersion, keepAlive: Bool) -> HTTPResponseHead {
        var head = HTTPResponseHead(version: version, status: status, headers: headers)
        head.headers.replaceOrAdd(name: "Content-Length", value: String(body.readableBytes))
        if !keepAlive {
            head.headers.replaceOrAdd(name: "Connection", value: "close")
        } else if version.minor == 0 {
            head.headers.replaceOrAdd(name: "Connection", value: "keep-alive")
        }
        return head
    }
}
