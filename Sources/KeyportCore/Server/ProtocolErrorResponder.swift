import NIOCore
import NIOHTTP1

/// Answers requests the HTTP parser rejects with a JSON error before the connection closes: 405 for a
/// method the parser does not know, 431 for oversized headers, 400 for anything else. Replaces NIO's
/// `HTTPServerProtocolErrorHandler`, which answers with an empty 400. It also gives the request
/// aggregator's empty 413 a JSON body. Bound to one event loop.
final class ProtocolErrorResponder: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let metrics: KeyportMetrics?
    private var hasUnterminatedResponse = false

    init(metrics: KeyportMetrics?) {
        self.metrics = metrics
    }

    static func error(for parserError: HTTPParserError) -> HTTPError {
        switch parserError {
        case .invalidMethod:
            HTTPError(.methodNotAllowed, "unsupported HTTP method", headers: ["Allow": "GET, HEAD, POST"])
        case .headerOverflow:
            HTTPError(.requestHeaderFieldsTooLarge, "request headers too large: at most 100 fields, 8 KiB each, 16 KiB in all")
        default:
            HTTPError(.badRequest, "malformed HTTP request")
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        guard let parserError = error as? HTTPParserError else {
            context.fireErrorCaught(error)
            return
        }
        // The parser error is fatal for the connection; a response is possible only if none is under way.
        if !hasUnterminatedResponse {
            let response = Self.error(for: parserError).response
            context.write(wrapOutboundOut(.head(response.head(version: .http1_1, keepAlive: false))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(response.body))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            metrics?.recordRejectedRequest(status: response.status)
        }
        context.fireErrorCaught(error)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let part = unwrapOutboundIn(data)
        if case .head(let head) = part, head.status == .payloadTooLarge, head.headers["content-length"] == ["0"] {
            // The request aggregator's own 413 has an empty body: give it the JSON error every other answer has.
            let response = HTTPError(.payloadTooLarge, "request body too large: at most \(HTTPServer.maxBodyBytes) bytes").response
            var headers = head.headers
            headers.replaceOrAdd(name: "content-type", value: "application/json")
            headers.replaceOrAdd(name: "content-length", value: String(response.body.readableBytes))
            hasUnterminatedResponse = true
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: head.status, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(response.body))), promise: promise)
            metrics?.recordRejectedRequest(status: head.status)
            return
        }
        switch part {
        case .head(let head) where head.status.code >= 200: hasUnterminatedResponse = true
        case .end: hasUnterminatedResponse = false
        default: break
        }
        context.write(data, promise: promise)
    }
}
