import Logging
import NIOCore
import NIOExtras
import NIOHTTP1
import NIOPosix
import NIOSSL
import ServiceLifecycle
import Synchronization
import SystemLibC

/// The HTTP/1 server as a `Service`: binds its listeners (admin and service), serves until graceful
/// shutdown, then turns not-ready, keeps serving for the shutdown delay, drains the service listener
/// (no new connections, in-flight requests finish) and only then the admin listener, so the last
/// scrape sees the final counters.
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
    private let listeners: [Listener]
    private let metrics: KeyportMetrics?
    private let readiness: Readiness
    private let group: any EventLoopGroup
    private let logger: Logger
    /// Each listener's bind outcome, and the promise for an address asked for before the bind. The promise is
    /// made on demand, never in `init`: NIO traps a promise dropped uncompleted, as a server never run would.
    private struct Binding {
        var waiting: EventLoopPromise<SocketAddress>?
        var result: Result<SocketAddress, any Error>?
    }
    private let bindings = Mutex([Listener.Role: Binding]())
    /// TLS: the context for each new connection (the newest certificate); `nil` serves plain HTTP.
    private let tlsContext: (@Sendable () -> NIOSSLContext)?
    /// Starts each request's server span; `nil` with tracing off.
    private let tracer: RequestTracer?

    /// `listeners` are bound in this order; if one cannot be bound, those before it are closed again.
    public init(
        configuration: Configuration, listeners: [Listener], metrics: KeyportMetrics?, readiness: Readiness,
        group: any EventLoopGroup, logger: Logger, tlsContext: (@Sendable () -> NIOSSLContext)? = nil,
        tracer: RequestTracer? = nil
    ) {
        self.tlsContext = tlsContext
        self.configuration = configuration
        self.listeners = listeners
        self.metrics = metrics
        self.readiness = readiness
        self.group = group
        self.logger = logger
        self.tracer = tracer
    }

    deinit {
        // Asked for but never run: fail the futures rather than leak the promises.
        bindings.withLock { bindings in
            for binding in bindings.values { binding.waiting?.fail(CancellationError()) }
        }
    }

    /// The address the service listener listens on, once bound (useful with port 0).
    public var localAddress: EventLoopFuture<SocketAddress> { address(of: .service) }

    /// The address `role`'s listener listens on, once bound.
    public func address(of role: Listener.Role) -> EventLoopFuture<SocketAddress> {
        let eventLoop = group.next()
        return bindings.withLock { bindings in
            if let result = bindings[role]?.result { return eventLoop.makeCompletedFuture(result) }
            let promise = bindings[role]?.waiting ?? eventLoop.makePromise(of: SocketAddress.self)
            bindings[role, default: Binding()].waiting = promise
            return promise.futureResult
        }
    }

    private func bindFinished(_ role: Listener.Role, _ result: Result<SocketAddress, any Error>) {
        bindings.withLock { bindings in
            bindings[role, default: Binding()].result = result
            bindings[role]?.waiting?.completeWith(result)
            bindings[role]?.waiting = nil
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

    /// A bound listener: its socket and the helper that drains its connections.
    private struct Bound {
        var listener: Listener
        var channel: any Channel
        var quiesce: ServerQuiescingHelper
    }

    public func run() async throws {
        let limits = HTTPConnectionHandler.Limits(
            idleTimeout: .nanoseconds(Int64(configuration.idleTimeout.seconds * 1e9)),
            requestTimeout: .nanoseconds(Int64(configuration.requestTimeout.seconds * 1e9)),
            maxBodyBytes: Self.maxBodyBytes)
        var binding: [Bound] = []
        do {
            for listener in listeners {
                binding.append(try await bind(listener, limits: limits))
            }
        } catch {
            // No half-started process: a listener that could not be bound takes those bound before it down.
            for item in binding { try? await item.channel.close() }
            for listener in listeners { bindFinished(listener.role, .failure(error)) }
            throw error
        }
        let bound = binding
        // The service listener's line first: tools that read the first `listening` line get the API port.
        for item in bound.sorted(by: { $0.listener.role == .service && $1.listener.role != .service }) {
            let address = item.channel.localAddress!
            bindFinished(item.listener.role, .success(address))
            logger.notice(
                "listening",
                metadata: [
                    "listener": "\(item.listener.role.rawValue)",
                    "host": "\(address.ipAddress ?? item.listener.host)", "port": "\(address.port ?? item.listener.port)",
                    "max_key_size": "\(configuration.maxKeySize)", "scheme": "\(tlsContext == nil ? "http" : "https")",
                ])
        }

        // Completed once every listener and every connection is closed: the service listener first, then the rest.
        let eventLoop = group.next()
        let drained = eventLoop.makePromise(of: Void.self)
        let serviceSide = bound.filter { $0.listener.role == .service }
        let adminSide = bound.filter { $0.listener.role != .service }
        try await withTaskCancellationHandler {
            try await withGracefulShutdownHandler {
                try await drained.futureResult.get()
            } onGracefulShutdown: { [configuration, readiness, logger] in
                readiness.update { $0.draining = true }
                logger.notice(
                    "shutting down: not ready, still serving during the shutdown delay",
                    metadata: ["shutdown_delay_seconds": "\(configuration.shutdownDelay.seconds)"])
                let delay = TimeAmount.nanoseconds(Int64(configuration.shutdownDelay.seconds * 1e9))
                eventLoop.scheduleTask(in: delay) {
                    logger.notice("draining: no new connections, finishing in-flight requests")
                    Self.quiesce(serviceSide, on: eventLoop).flatMap {
                        logger.notice("service listener drained: closing the admin listener")
                        return Self.quiesce(adminSide, on: eventLoop)
                    }.cascade(to: drained)
                }
            }
        } onCancel: {
            for item in bound { item.channel.close(promise: nil) }
            drained.fail(CancellationError())
        }
        logger.notice("stopped")
    }

    /// Stops `listeners` accepting and completes once their connections have finished.
    private static func quiesce(_ listeners: [Bound], on eventLoop: any EventLoop) -> EventLoopFuture<Void> {
        let done = listeners.map { item in
            let promise = eventLoop.makePromise(of: Void.self)
            item.quiesce.initiateShutdown(promise: promise)
            return promise.futureResult
        }
        return EventLoopFuture.andAllSucceed(done, on: eventLoop)
    }

    /// Binds one listener; `::` that the kernel refuses (no IPv6) falls back to IPv4's `0.0.0.0`.
    /// NIO turns IPV6_V6ONLY off on IPv6 sockets, so `::` also takes IPv4 connections where allowed.
    private func bind(_ listener: Listener, limits: HTTPConnectionHandler.Limits) async throws -> Bound {
        do {
            return try await bind(listener, host: listener.host, limits: limits)
        } catch let error where listener.host == "::" && !Self.isPortProblem(error) {
            logger.notice(
                "IPv6 is not available: listening on IPv4 only",
                metadata: ["listener": "\(listener.role.rawValue)", "error": "\(error)"])
            do {
                return try await bind(listener, host: "0.0.0.0", limits: limits)
            } catch {
                throw ListenerBindError(role: listener.role, host: "0.0.0.0", port: listener.port, reason: "\(error)")
            }
        } catch {
            throw ListenerBindError(role: listener.role, host: listener.host, port: listener.port, reason: "\(error)")
        }
    }

    /// The port itself is the problem (taken, or privileged): another address family would not help.
    private static func isPortProblem(_ error: any Error) -> Bool {
        guard let error = error as? IOError else { return false }
        return error.errnoCode == EADDRINUSE || error.errnoCode == EACCES
    }

    private func bind(_ listener: Listener, host: String, limits: HTTPConnectionHandler.Limits) async throws -> Bound {
        let quiesce = ServerQuiescingHelper(group: group)
        let router = listener.router
        let metrics = self.metrics
        let tlsContext = self.tlsContext
        let tracer = self.tracer
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            // More than NIO's default of 4 accepts per wake-up: with thousands of busy connections on the
            // loop, a burst of new ones (health probes among them) must not wait seconds to be accepted.
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
            .bind(host: host, port: listener.port)
            .get()
        return Bound(listener: listener, channel: channel, quiesce: quiesce)
    }
}
