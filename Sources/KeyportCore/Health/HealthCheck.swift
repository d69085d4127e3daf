import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// `keyport check URL`: a GET that succeeds on 2xx, so images need no curl or shell for probes
/// (`keyport reload-on-change` sends its bodiless POST through the same client).
public enum HealthCheck {
    public struct Target: Equatable, Sendable {
        public var host: String
        public var port: Int
        public var path: String
        /// `https://`: speak TLS.
        public var secure: Bool = false
    }

    /// How an `https://` check trusts the server: a CA file (else the system roots), or not at all.
    public struct TLSOptions: Sendable {
        public var caFile: String?
        public var insecure: Bool

        public init(caFile: String? = nil, insecure: Bool = false) {
            self.caFile = caFile
            self.insecure = insecure
        }
    }

    public enum Failure: Error, CustomStringConvertible, Equatable {
        case badURL(String)
        case status(UInt)
        case connection(String)
        case timeout

        public var description: String {
            switch self {
            case .badURL(let url): "unsupported URL \"\(url)\": expected http(s)://HOST[:PORT]/PATH"
            case .status(let code): "answered HTTP \(code)"
            case .connection(let reason): "connection failed: \(reason)"
            case .timeout: "timed out"
            }
        }
    }

    /// Parses `http(s)://host[:port][/path]`; IPv6 hosts in brackets.
    public static func parse(_ url: String) throws(Failure) -> Target {
        let secure = url.hasPrefix("https://")
        guard secure || url.hasPrefix("http://") else { throw .badURL(url) }
        let rest = url.dropFirst(secure ? "https://".count : "http://".count)
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<slash]
        let path = slash == rest.endIndex ? "/" : String(rest[slash...])
        var host = Substring(authority)
        var port = secure ? 443 : 80
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
        return Target(host: String(host), port: port, path: path, secure: secure)
    }

    /// Sends one bodiless request (GET unless `method` says otherwise) and returns the status code when it is 2xx. `timeout` is one deadline for the
    /// whole exchange: connecting, the TLS handshake, sending and the response head together.
    public static func run(
        url: String, timeout: Duration, tls: TLSOptions = TLSOptions(), method: HTTPMethod = .GET,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws(Failure) -> UInt {
        let target = try parse(url)
        let sslContext = target.secure ? try clientContext(tls) : nil
        let timeoutAmount = TimeAmount.nanoseconds(Int64(timeout.seconds * 1e9))
        let deadline = NIODeadline.now() + timeoutAmount
        let timedOut = Flag()
        let status: UInt
        let eventLoop = group.next()
        // Made before connecting so a failed TLS handshake reaches it with its reason.
        let promise = eventLoop.makePromise(of: UInt.self)
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: target.path)
        let defaultPort = target.secure ? 443 : 80
        head.headers.add(name: "Host", value: target.port == defaultPort ? target.host : "\(target.host):\(target.port)")
        head.headers.add(name: "User-Agent", value: "keyport-check")
        head.headers.add(name: "Connection", value: "close")
        if method != .GET && method != .HEAD {
            head.headers.add(name: "Content-Length", value: "0")
        }
        let request = head
        do {
            let channel = try await ClientBootstrap(group: eventLoop)
                .connectTimeout(timeoutAmount)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        // Armed with the channel, not after `connect` returns: a late resumption of this task
                        // must not stretch the deadline (one deadline for connect, handshake and answer).
                        let timer = channel.eventLoop.scheduleTask(deadline: deadline) {
                            timedOut.value.withLock { $0 = true }
                            promise.fail(Failure.timeout)
                            channel.close(promise: nil)
                        }
                        promise.futureResult.whenComplete { _ in timer.cancel() }
                        // A refused or reset connection closes the channel before the awaiting task resumes;
                        // on a busy machine that resumption can come after the deadline, which then named a
                        // refused connection a timeout.
                        channel.closeFuture.whenComplete { _ in timer.cancel() }
                        if let sslContext {
                            // SNI takes host names only; an IP address is checked against the certificate's IP SANs.
                            let isAddress = (try? SocketAddress(ipAddress: target.host, port: 0)) != nil
                            try channel.pipeline.syncOperations.addHandler(
                                NIOSSLClientHandler(context: sslContext, serverHostname: isAddress ? nil : target.host))
                        }
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        try channel.pipeline.syncOperations.addHandler(StatusCollector(request: request, promise: promise))
                    }
                }
                .connect(host: target.host, port: target.port)
                .get()
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
            promise.fail(Failure.timeout)
            throw .timeout
        } catch {
            promise.fail(error)
            // A connect cut short by the deadline's close is a timeout, whatever NIO calls it.
            throw timedOut.value.withLock { $0 } ? .timeout : .connection("\(error)")
        }
        guard (200..<300).contains(status) else { throw .status(status) }
        return status
    }

    /// Set when the deadline passed, so the errors it causes are reported as the timeout.
    private final class Flag: Sendable {
        let value = Mutex(false)
    }

    /// A client context trusting `caFile` (else the system roots), or nothing with `insecure`.
    static func clientContext(_ options: TLSOptions) throws(Failure) -> NIOSSLContext {
        let configuration = try clientConfiguration(options)
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw .connection("\(error)")
        }
    }

    /// TLS 1.2 or later, HTTP/1.1, trusting `caFile` (else the system roots), or nothing with `insecure`;
    /// `keyport ports fetch` hands the same configuration to its HTTP client.
    public static func clientConfiguration(_ options: TLSOptions) throws(Failure) -> TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        configuration.applicationProtocols = ["http/1.1"]
        if options.insecure {
            configuration.certificateVerification = .none
        } else if let caFile = options.caFile {
            do {
                configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile))
            } catch {
                throw .connection("cannot read the CA file \(caFile): \(error)")
            }
        }
        return configuration
    }

    /// Sends the request as soon as the connection is up (TLS holds it until the handshake is done) and
    /// completes with the response status once the head arrives. Bound to its channel's event loop.
    private final class StatusCollector: ChannelDuplexHandler, RemovableChannelHandler {
        typealias InboundIn = HTTPClientResponsePart
        typealias OutboundIn = HTTPClientRequestPart
        typealias OutboundOut = HTTPClientRequestPart
        let request: HTTPRequestHead
        let promise: EventLoopPromise<UInt>

        init(request: HTTPRequestHead, promise: EventLoopPromise<UInt>) {
            self.request = request
            self.promise = promise
        }

        func channelActive(context: ChannelHandlerContext) {
            context.write(wrapOutboundOut(.head(request)), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            context.fireChannelActive()
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
