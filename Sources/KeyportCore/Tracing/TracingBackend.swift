import Logging
import OTel
import ServiceLifecycle
import Tracing

/// swift-otel's tracer (parent-based sampler, batch span processor with a bounded queue, OTLP/HTTP exporter)
/// and the service that runs its export loop; run in the app's ServiceGroup so SIGTERM flushes queued spans.
/// The standard OTEL_* variables are applied by swift-otel on top of what the keyport flags set.
public struct TracingBackend: Sendable {
    public let tracer: any Tracer
    public let service: any Service

    public init(configuration: TracingConfiguration, metrics: KeyportMetrics, buildInfo: BuildInfo = .current) throws {
        var otel = OTel.Configuration.default
        otel.serviceName = configuration.serviceName
        otel.resourceAttributes["service.version"] = buildInfo.version
        if let endpoint = configuration.tracesEndpoint {
            otel.traces.otlpExporter.endpoint = endpoint
        }
        if let ratio = configuration.sampleRatio, let sampler = OTel.Configuration.TracesConfiguration.SamplerConfiguration.parentBasedTraceIDRatio(ratio: ratio) {
            otel.traces.sampler = sampler
        }
        let upstream = Logger(label: "swift-otel").handler
        let dropped = metrics.traceSpansDropped
        otel.diagnosticLogger = .custom(Logger(label: "swift-otel") { _ in
            ExporterDiagnosticsLogHandler(upstream: upstream, dropped: dropped)
        })
        // swift-otel logs every applied OTEL_* variable at info; warnings (and the drop counts) are what matter.
        otel.diagnosticLogLevel = .warning
        let backend = try OTel.makeTracingBackend(configuration: otel)
        tracer = backend.factory
        service = backend.service
    }
}
