import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// `keyport check URL`: a GET that succeeds on 2xx, so images need no curl or shell for probes.
public enum HealthCheck {
    public struct Target: Equatable, Sendable {
        public var host: String
        public var port: Int
        public var path: String
    }

    public enum Failure: Error, CustomStringConvertible, Equatable {
        case badURL(String)
        case status(UInt)
        case connection(String)
        case timeout

        public var description: String {
            switch self {
            case .badURL(let url): "unsupported URL \"\(url)\": expected http://HOST[:PORT]/PATH"
            case .status(let code): "answered HTTP \(code)"
            case .connection(let reason): "connection failed: \(reason)"
            case .timeout: "timed out"
            }
        }
    }

    /// Parses `http://host[:port][/path]`; IPv6 hosts in brackets.
    public static func parse(_ url: String) throws(Failure) -> Target {
        guard url.hasPrefix("http://") else { throw .badURL(url) }
        let rest = url.dropFirst("http://".count)
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<slash]
        let path = slash == rest.endIndex ? "/" : String(rest[slash...])
        var host = Substring(authority)
        var port = 80
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw .badURL(url) }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":"), let number = Int(after.dropFirst()) else { throw .badURL(url) }
                port = number
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            guard let number = Int(authority[authority.index(after: colon)...]) else { throw .badURL(url) }
            port = number
        }
        guard !host.isEmpty, (1...65535).contains(port) else { throw .badURL(url) }
        return Target(host: String(host), port: port, path: path)
    }

    /// Sends one GET and returns the status code when it is 2xx. `timeout` is one deadline for the
    /// whole exchange: connecting, sending and the response head together.
    public static func run(url: String, timeout: Duration, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton)
        async throws(Failure) -> UInt
    {
        let target = try parse(url)
        let timeoutAmount = TimeAmount.nanoseconds(Int64(timeout.seconds * 1e9))
        let deadline = NIODeadline.now() + timeoutAmount
        let timedOut = Flag()
        let status: UInt
        do {
            let channel = try await ClientBootstrap(group: group)
                .connectTimeout(timeoutAmount)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    }
                }
                .connect(host: target.host, port: target.port)
                .get()
            let promise = channel.eventLoop.makePromise(of: UInt.self)
            // What the connect left of the timeout, not a fresh one.
            let timer = channel.eventLoop.scheduleTask(deadline: deadline) {
                timedOut.value.withLock { $0 = true }
                promise.fail(Failure.timeout)
                channel.close(promise: nil)
            }
            defer { timer.cancel() }
            try await channel.eventLoop.submit {
                try channel.pipeline.syncOperations.addHandler(StatusCollector(promise: promise))
            }.get()
            var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: target.path)
            head.headers.add(name: "Host", value: target.port == 80 ? target.host : "\(target.host):\(target.port)")
            head.headers.add(name: "User-Agent", value: "keyport-check")
            head.headers.add(name: "Connection", value: "close")
            channel.write(HTTPClientRequestPart.head(head), promise: nil)
            try await channel.writeAndFlush(HTTPClientRequestPart.end(nil)).get()
            do {
                status = try await promise.futureResult.get()
            } catch {
                channel.close(promise: nil)
                throw error
            }
            channel.close(promise: nil)
        } catch let failure as Failure {
            throw failure
        } catch ChannelError.connectTimeout {
            throw .timeout
        } catch {
            // A write cut short by the deadline's close is a timeout, whatever NIO calls it.
            throw timedOut.value.withLock { $0 } ? .timeout : .connection("\(error)")
        }
        guard (200..<300).contains(status) else { throw .status(status) }
        return status
    }

    /// Set when the deadline passed, so the errors it causes are reported as the timeout.
    private final class Flag: Sendable {
        let value = Mutex(false)
    }

    /// Completes with the response status once the head arrives. Bound to its channel's event loop.
    private final class StatusCollector: ChannelInboundHandler, RemovableChannelHandler {
        typealias InboundIn = HTTPClientResponsePart
        let promise: EventLoopPromise<UInt>

        init(promise: EventLoopPromise<UInt>) {
            self.promise = promise
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            if case .head(let head) = unwrapInboundIn(data) {
                promise.succeed(head.status.code)
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            promise.fail(Failure.connection("closed before a response"))
        }

        func errorCaught(context: ChannelHandlerContext, error: Error) {
            promise.fail(Failure.connection("\(error)"))
            context.close(promise: nil)
        }
    }
}
