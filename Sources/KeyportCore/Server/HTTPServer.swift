import Logging
import NIOCore
import NIOExtras
import NIOHTTP1
import NIOPosix
import ServiceLifecycle

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
    private let bound: EventLoopPromise<SocketAddress>
    private let tracer: RequestTracer?

    public init(
        configuration: Configuration, router: Router, metrics: KeyportMetrics?, readiness: Readiness,
        group: any EventLoopGroup, logger: Logger, tracer: RequestTracer? = nil
    ) {
        self.configuration = configuration
        self.router = router
        self.metrics = metrics
        self.readiness = readiness
        self.group = group
        self.logger = logger
        self.bound = group.next().makePromise()
        self.tracer = tracer
    }

    /// The address the server listens on, once bound (useful with port 0).
    public var localAddress: EventLoopFuture<SocketAddress> { bound.futureResult }

    public func run() async throws {
        let quiesce = ServerQuiescingHelper(group: group)
        let router = self.router
        let metrics = self.metrics
        let tracer = self.tracer
        let idleTimeout = TimeAmount.nanoseconds(Int64(configuration.idleTimeout.seconds * 1e9))
        let requestTimeout = TimeAmount.nanoseconds(Int64(configuration.requestTimeout.seconds * 1e9))
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
                        let pipeline = channel.pipeline.syncOperations
                        try pipeline.addHandler(RequestTimeoutHandler(timeout: requestTimeout, metrics: metrics))
                        try pipeline.addHandler(IdleStateHandler(readTimeout: idleTimeout))
                        try pipeline.configureHTTPServerPipeline(
                            withPipeliningAssistance: true, withErrorHandling: false,
                            // Every response header is set by keyport's own code, never copied from a request.
                            withOutboundHeaderValidation: false, withEncoderConfiguration: .init(),
                            withDecoderLimitConfiguration: Self.decoderLimits)
                        try pipeline.addHandler(ProtocolErrorResponder(metrics: metrics))
                        try pipeline.addHandler(NIOHTTPServerRequestAggregator(maxContentLength: Self.maxBodyBytes))
                        try pipeline.addHandler(HTTPHandler(router: router, metrics: metrics, tracer: tracer))
                    }
                }
                .bind(host: configuration.host, port: configuration.port)
                .get()
        } catch {
            bound.fail(error)
            throw error
        }
        let address = channel.localAddress!
        bound.succeed(address)
        logger.notice(
            "listening",
            metadata: [
                "host": "\(address.ipAddress ?? configuration.host)", "port": "\(address.port ?? configuration.port)",
                "max_key_size": "\(configuration.maxKeySize)",
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
