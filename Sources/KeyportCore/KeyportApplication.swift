import CKeyportShims
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import ServiceLifecycle
import Tracing
import UnixSignals

/// Wires configuration, state, endpoints and services together. Tests build one with port 0 and call
/// `makeRouter(for:)` or `run(...)`; the `keyport` executable runs it with signal handling.
public final class KeyportApplication: Sendable {
    public let configuration: Configuration
    public let metrics: KeyportMetrics
    public let readiness: Readiness
    public let faults = FaultInjection()
    public let ports: ServedSnapshot
    public let logger: Logger
    public let buildInfo: BuildInfo
    /// The certificate served when the listener speaks HTTPS, else `nil`.
    public let tls: TLSCertificateStore?
    let tlsMetrics: TLSMetrics?
    let threadPool: NIOThreadPool
    /// The OpenAPI description, read once at start; `nil` when the file is not installed.
    let openAPIDocument: [UInt8]?

    /// `tls` is the pair loaded from `configuration.tls` before binding (start-up errors exit there).
    public init(configuration: Configuration, logger: Logger, buildInfo: BuildInfo = .current, tls: TLSMaterial? = nil) {
        self.configuration = configuration
        self.logger = logger
        self.buildInfo = buildInfo
        metrics = KeyportMetrics(maxKeySize: configuration.maxKeySize, buildInfo: buildInfo)
        readiness = Readiness(metrics: metrics)
        ports = ServedSnapshot(metrics: metrics)
        if let files = configuration.tls, let tls {
            self.tls = TLSCertificateStore(files: files, initial: tls)
            tlsMetrics = TLSMetrics(registry: metrics.registry)
        } else {
            self.tls = nil
            tlsMetrics = nil
        }
        threadPool = NIOThreadPool.singleton
        let openAPIPath = BundledFiles.path(of: BundledFiles.openAPI)
        openAPIDocument = SmallFile.readBytes(openAPIPath, limit: 1 << 20)
        if openAPIDocument == nil {
            logger.warning("OpenAPI description not found; /openapi.yaml will answer 404", metadata: ["path": "\(openAPIPath)"])
        }
    }

    /// The route tables: the service listener answers the API (openapi.yaml) and terse health checks for load
    /// balancers; the admin listener answers operators, and `/debug/*` there only with fault injection on.
    public func makeRouter(for listener: Listener.Role) -> Router {
        var router = Router()
        let health = HealthEndpoints(readiness: readiness)
        let info = InfoEndpoints(
            metrics: metrics, threadPool: threadPool, buildInfo: buildInfo, openAPIDocument: openAPIDocument)
        let faults = self.faults
        let threadPool = self.threadPool
        switch listener {
        case .service:
            let keys = KeyEndpoint(maxSize: configuration.maxKeySize, metrics: metrics)
            let portsEndpoints = PortsEndpoints(served: ports)
            router.get("/key/{length}") { request, context in
                faults.apply(on: context.eventLoop) { () throws(HTTPError) in
                    try keys.reply(request, length: context.parameter, context: context, threadPool: threadPool)
                }
            }
            router.get("/ports") { request, context in
                faults.apply(on: context.eventLoop) { () throws(HTTPError) in .now(try portsEndpoints.list(request)) }
            }
            router.get("/ports/{id}") { request, context in
                faults.apply(on: context.eventLoop) { () throws(HTTPError) in
                    .now(try portsEndpoints.record(request, id: context.parameter))
                }
            }
            router.get("/openapi.yaml") { request, _ throws(HTTPError) in .now(try info.openAPI(request)) }
            router.get("/health") { request, _ in .now(health.health(request)) }
            router.get("/ready") { request, _ in .now(health.publicReady(request)) }
        case .admin:
            router.get("/metrics") { request, context in info.metrics(request, context) }
            router.get("/version") { request, _ in .now(info.version(request)) }
            router.get("/health") { request, _ in .now(health.health(request)) }
            router.get("/ready") { request, _ in .now(health.ready(request)) }
            if configuration.faultInjectionEnabled {
                let debug = DebugEndpoints(faults: faults, readiness: readiness, threadPool: threadPool)
                router.post("/debug/fault") { request, _ throws(HTTPError) in .now(try debug.fault(request)) }
                router.post("/debug/ready") { request, _ throws(HTTPError) in .now(try debug.ready(request)) }
                router.post("/debug/ballast") { request, context throws(HTTPError) in try debug.ballast(request, context: context) }
            }
        }
        return router
    }

    /// The two listeners, admin first: it binds first, so the public port never serves without it.
    func makeListeners() -> [Listener] {
        [
            Listener(role: .admin, host: configuration.resolvedAdminHost, port: configuration.adminPort, router: makeRouter(for: .admin)),
            Listener(role: .service, host: configuration.host, port: configuration.port, router: makeRouter(for: .service)),
        ]
    }

    /// `tracer` is the tracing backend's when an OTLP endpoint is configured; `nil` keeps requests span-free.
    public func makeServer(group: any EventLoopGroup, tracer: (any Tracer)? = nil) -> HTTPServer {
        var tlsContext: (@Sendable () -> NIOSSLContext)?
        if let tls { tlsContext = { tls.context } }
        let requestTracer = tracer.map { RequestTracer(tracer: $0, logger: logger, scheme: tls == nil ? "http" : "https") }
        return HTTPServer(
            configuration: configuration, listeners: makeListeners(), metrics: metrics, readiness: readiness,
            group: group, logger: logger, tlsContext: tlsContext, tracer: requestTracer)
    }

    /// Watches the TLS files when the listener speaks HTTPS.
    public func makeTLSReloader() -> TLSReloader? {
        guard let tls, let tlsMetrics else { return nil }
        return TLSReloader(
            store: tls, metrics: tlsMetrics, pollInterval: configuration.tlsPollInterval, threadPool: threadPool,
            logger: logger)
    }

    public func makePortsReloader(tracer: (any Tracer)? = nil) -> PortsReloader {
        PortsReloader(
            path: configuration.portsFile ?? BundledFiles.path(of: BundledFiles.samplePorts),
            served: ports, readiness: readiness, metrics: metrics,
            pollInterval: configuration.portsPollInterval, settleTime: configuration.portsSettleTime,
            threadPool: threadPool, logger: logger, tracer: tracer)
    }

    /// One event loop per CPU this process may use: NIO's own count follows cgroup quotas but not the
    /// CPU affinity mask (taskset, cpusets on some runtimes), and surplus loops only contend for the CPUs.
    public static var eventLoopThreadCount: Int {
        let affinity = Int(keyport_affinity_cpu_count())
        return max(1, affinity > 0 ? min(affinity, System.coreCount) : System.coreCount)
    }

    /// Runs until SIGTERM/SIGINT (graceful) or a service fails. SIGHUP reloads the ports file.
    public func run(group: any EventLoopGroup) async throws {
        let tracing = try configuration.tracing.map { try TracingBackend(configuration: $0, metrics: metrics, buildInfo: buildInfo) }
        let server = makeServer(group: group, tracer: tracing?.tracer)
        let reloader = makePortsReloader(tracer: tracing?.tracer)
        if configuration.faultInjectionEnabled {
            logger.warning("fault injection is enabled: POST /debug/fault, /debug/ready and /debug/ballast are live")
        }
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: reloader, serviceName: "ports-reloader"),
            .init(service: server, serviceName: "http-server"),
        ]
        if let tlsReloader = makeTLSReloader() {
            services.append(.init(service: tlsReloader, serviceName: "tls-reloader"))
        }
        if let tracing {
            // First in the group, so last to stop: it flushes the spans of the requests drained before it.
            services.insert(.init(service: tracing.service, serviceName: "tracing"), at: 0)
            logger.notice("tracing on: exporting spans over OTLP/HTTP")
        }
        let serviceGroup = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: services,
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await serviceGroup.run()
    }
}
