import Logging
import NIOCore
import NIOExtras
import NIOHTTP1
import NIOPosix
import NIOSSL
import ServiceLifecycle
import Synchronization

/// The HTTP/1 server as a `Service`: binds, serves until graceful shutdown, then turns not-ready,
/// keeps serving for the shutdown delay, stops accepting and lets in-flight requests finish.
public final class HTTPServer: Service, Sendable {
    /// Largest request body accepted (only the `/debug` endpoints take one).
    public static let maxBodyBytes = 64 * 1024
    /// Header limits: one header line, all headers together, and how many.
    public static let decoderLimits: NIOHTTPDecoderLimitConfiguration = {
        var limits = NIOHTTPDecoderLimitConfiguration()
        limits.maxHeaderFieldSize = 8 * 1024
        limits.maxHeaderListSize = 16 * 1024
        limits.maxHeaderFieldCount = 100
        return limits
    }()

    /// Connections accepted per wake-up of the listening socket.
    public static let acceptsPerWakeup: UInt = 256

    private let configuration: Configuration
    private let router: Router
    private let metrics: KeyportMetrics?
    private let readiness: Readiness
    private let group: any EventLoopGroup
    private let logger: Logger
    /// The bind's outcome, and the promise made when `localAddress` is asked before it: a promise made in
    /// `init` leaked (NIO's check trips) for a server that was made and never run.
    private struct Binding {
        var waiting: EventLoopPromise<SocketAddress>?
        var result: Result<SocketAddress, any Error>?
    }
    private let binding = Mutex(Binding())
    /// TLS: the context for each new connection (the newest certificate); `nil` serves plain HTTP.
    private let tlsContext: (@Sendable () -> NIOSSLContext)?
    /// Starts each request's server span; `nil` with tracing off.
    private let tracer: RequestTracer?

    public init(
        configuration: Configuration, router: Router, metrics: KeyportMetrics?, readiness: Readiness,
        group: any EventLoopGroup, logger: Logger, tlsContext: (@Sendable () -> NIOSSLContext)? = nil,
        tracer: RequestTracer? = nil
    ) {
        self.tlsContext = tlsContext
        self.configuration = configuration
        self.router = router
        self.metrics = metrics
        self.readiness = readiness
        self.group = group
        self.logger = logger
        self.tracer = tracer
    }

    deinit {
        // Asked for but never run: fail the future rather than leak the promise.
        binding.withLock { $0.waiting?.fail(CancellationError()) }
    }

    /// The address the server listens on, once bound (useful with port 0).
    public var localAddress: EventLoopFuture<SocketAddress> {
        let eventLoop = group.next()
        return binding.withLock { binding in
            if let result = binding.result { return eventLoop.makeCompletedFuture(result) }
            let promise = binding.waiting ?? eventLoop.makePromise(of: SocketAddress.self)
            binding.waiting = promise
            return promise.futureResult
        }
    }

    private func bindFinished(_ result: Result<SocketAddress, any Error>) {
        binding.withLock { binding in
            binding.result = result
            binding.waiting?.completeWith(result)
            binding.waiting = nil
        }
    }

    /// Sets up `channel` as one of this server's connections, e.g. an `EmbeddedChannel` in a benchmark.
    public static func configureConnection(
        _ channel: any Channel, router: Router, metrics: KeyportMetrics?, idleTimeout: TimeAmount, requestTimeout: TimeAmount
    ) throws {
        try configureConnection(
            channel, router: router, metrics: metrics,
            limits: .init(idleTimeout: idleTimeout, requestTimeout: requestTimeout, maxBodyBytes: maxBodyBytes))
    }

    /// The per-connection pipeline: NIO's HTTP/1 request decoder and keyport's one connection handler.
    /// A TLS handler, when there is one, goes first.
    static func configureConnection(
        _ channel: any Channel, router: Router, metrics: KeyportMetrics?, limits: HTTPConnectionHandler.Limits,
        tracer: RequestTracer? = nil
    ) throws {
        let pipeline = channel.pipeline.syncOperations
        try pipeline.addHandler(
            ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes, limitConfiguration: decoderLimits)))
        try pipeline.addHandler(
            HTTPConnectionHandler(router: router, metrics: metrics, limits: limits, tracer: tracer, allocator: channel.allocator))
    }

    public func run() async throws {
        let quiesce = ServerQuiescingHelper(group: group)
        let router = self.router
        let metrics = self.metrics
        let tlsContext = self.tlsContext
        let tracer = self.tracer
        let limits = HTTPConnectionHandler.Limits(
            idleTimeout: .nanoseconds(Int64(configuration.idleTimeout.seconds * 1e9)),
            requestTimeout: .nanoseconds(Int64(configuration.requestTimeout.seconds * 1e9)),
            maxBodyBytes: Self.maxBodyBytes)
        let channel: Channel
        do {
            channel = try await ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: 1024)
                // NIO accepts 4 connections per wake-up by default: with thousands of busy connections on the
                // loop, a burst of new ones (health probes among them) then waited seconds to be accepted.
                .serverChannelOption(.maxMessagesPerRead, value: Self.acceptsPerWakeup)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .serverChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(quiesce.makeServerChannelHandler(channel: channel))
                    }
                }
                .childChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
                .childChannelOption(.maxMessagesPerRead, value: 16)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        // TLS first, with the context current when the connection is accepted (rotation).
                        if let tlsContext {
                            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tlsContext()))
                        }
                        try Self.configureConnection(channel, router: router, metrics: metrics, limits: limits, tracer: tracer)
                    }
                }
                .bind(host: configuration.host, port: configuration.port)
                .get()
        } catch {
            bindFinished(.failure(error))
            throw error
        }
        let address = channel.localAddress!
        bindFinished(.success(address))
        logger.notice(
            "listening",
            metadata: [
                "host": "\(address.ipAddress ?? configuration.host)", "port": "\(address.port ?? configuration.port)",
                "max_key_size": "\(configuration.maxKeySize)", "scheme": "\(tlsContext == nil ? "http" : "https")",
            ])

        // Completed by the quiescing helper once the listener and every connection are closed.
        let drained = group.next().makePromise(of: Void.self)
        try await withTaskCancellationHandler {
            try await withGracefulShutdownHandler {
                try await drained.futureResult.get()
            } onGracefulShutdown: { [configuration, readiness, logger, group] in
                readiness.update { $0.draining = true }
                logger.notice(
                    "shutting down: not ready, still serving during the shutdown delay",
                    metadata: ["shutdown_delay_seconds": "\(configuration.shutdownDelay.seconds)"])
                let delay = TimeAmount.nanoseconds(Int64(configuration.shutdownDelay.seconds * 1e9))
                group.next().scheduleTask(in: delay) {
                    logger.notice("draining: no new connections, finishing in-flight requests")
                    quiesce.initiateShutdown(promise: drained)
                }
            }
        } onCancel: {
            channel.close(promise: nil)
            drained.fail(CancellationError())
        }
        logger.notice("stopped")
    }
}
