import CKeyportShims
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Tracing
import UnixSignals

/// Wires configuration, state, endpoints and services together. Tests build one with port 0 and call
/// `makeRouter()` or `run(...)`; the `keyport` executable runs it with signal handling.
public final class KeyportApplication: Sendable {
    public let configuration: Configuration
    public let metrics: KeyportMetrics
    public let readiness: Readiness
    public let faults = FaultInjection()
    public let ports: PortsStore
    public let logger: Logger
    public let buildInfo: BuildInfo
    let threadPool: NIOThreadPool
    /// The OpenAPI description, read once at start; `nil` when the file is not installed.
    let openAPIDocument: [UInt8]?

    public init(configuration: Configuration, logger: Logger, buildInfo: BuildInfo = .current) {
        self.configuration = configuration
        self.logger = logger
        self.buildInfo = buildInfo
        metrics = KeyportMetrics(maxKeySize: configuration.maxKeySize, buildInfo: buildInfo)
        readiness = Readiness(metrics: metrics)
        ports = PortsStore(metrics: metrics)
        threadPool = NIOThreadPool.singleton
        let openAPIPath = BundledFiles.path(of: BundledFiles.openAPI)
        openAPIDocument = SmallFile.readBytes(openAPIPath, limit: 1 << 20)
        if openAPIDocument == nil {
            logger.warning("OpenAPI description not found; /openapi.yaml will answer 404", metadata: ["path": "\(openAPIPath)"])
        }
    }

    /// The route table: every endpoint of the SPEC, `/debug/*` only with fault injection on.
    public func makeRouter() -> Router {
        var router = Router()
        let keys = KeyEndpoint(maxSize: configuration.maxKeySize, metrics: metrics)
        let portsEndpoints = PortsEndpoints(store: ports)
        let health = HealthEndpoints(readiness: readiness)
        let info = InfoEndpoints(
            metrics: metrics, threadPool: threadPool, buildInfo: buildInfo, openAPIDocument: openAPIDocument)
        let faults = self.faults
        let threadPool = self.threadPool

        router.get("/key/{length}") { request, context throws(HTTPError) in
            try faults.failIfInjected()
            return try keys.reply(request, length: context.parameter, context: context, threadPool: threadPool)
        }
        router.get("/ports") { request, _ throws(HTTPError) in
            try faults.failIfInjected()
            return .now(try portsEndpoints.list(request))
        }
        router.get("/ports/{id}") { request, context throws(HTTPError) in
            try faults.failIfInjected()
            return .now(try portsEndpoints.record(request, id: context.parameter))
        }
        router.get("/health") { request, _ in .now(health.health(request)) }
        router.get("/ready") { request, _ in .now(health.ready(request)) }
        router.get("/metrics") { request, context in info.metrics(request, context) }
        router.get("/version") { request, _ in .now(info.version(request)) }
        router.get("/openapi.yaml") { request, _ throws(HTTPError) in .now(try info.openAPI(request)) }
        if configuration.faultInjectionEnabled {
            let debug = DebugEndpoints(faults: faults, readiness: readiness)
            router.post("/debug/fault") { request, _ throws(HTTPError) in .now(try debug.fault(request)) }
            router.post("/debug/ready") { request, _ throws(HTTPError) in .now(try debug.ready(request)) }
            router.post("/debug/ballast") { request, _ throws(HTTPError) in .now(try debug.ballast(request)) }
        }
        return router
    }

    public func makeServer(group: any EventLoopGroup, tracer: (any Tracer)? = nil) -> HTTPServer {
        HTTPServer(
            configuration: configuration, router: makeRouter(), metrics: metrics, readiness: readiness,
            group: group, logger: logger, tracer: tracer.map { RequestTracer(tracer: $0, logger: logger) })
    }

    public func makePortsReloader(tracer: (any Tracer)? = nil) -> PortsReloader {
        PortsReloader(
            path: configuration.portsFile ?? BundledFiles.path(of: BundledFiles.samplePorts),
            store: ports, readiness: readiness, metrics: metrics,
            pollInterval: configuration.portsPollInterval, threadPool: threadPool, logger: logger, tracer: tracer)
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

extension FaultInjection {
    /// Throws the injected 500 when `/debug/fault` asked for one.
    func failIfInjected() throws(HTTPError) {
        if shouldFail() { throw HTTPError(.internalServerError, "injected fault (POST /debug/fault)") }
    }
}
