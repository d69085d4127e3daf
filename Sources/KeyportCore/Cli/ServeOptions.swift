import ArgumentParser

/// The server's command-line flags. Values are kept as text so `Configuration` can fall back to the
/// environment and report a bad value in one line naming the flag and its accepted range.
public struct ServeOptions: ParsableArguments, Sendable {
    @Option(name: .customLong("srv-port"), help: "Listening port, 0...65535 (default 1123; env KEYPORT_SRV_PORT).")
    public var srvPort: String?

    @Option(help: "Bind address (default 0.0.0.0; env KEYPORT_HOST).")
    public var host: String?

    @Option(name: .customLong("max-size"), help: "Largest key in bytes, 1...1048576 (default 1024; env KEYPORT_MAX_SIZE).")
    public var maxSize: String?

    @Option(name: .customLong("ports-file"), help: "JSON ports file to load (default: the bundled sample; env KEYPORT_PORTS_FILE).")
    public var portsFile: String?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical (default info; env KEYPORT_LOG_LEVEL).")
    public var logLevel: String?

    @Option(name: .customLong("log-format"), help: "json or text (default json; env KEYPORT_LOG_FORMAT).")
    public var logFormat: String?

    @Option(name: .customLong("shutdown-delay"), help: "After SIGTERM, time spent not ready but still serving, e.g. 5s (default 0s; env KEYPORT_SHUTDOWN_DELAY).")
    public var shutdownDelay: String?

    @Option(name: .customLong("idle-timeout"), help: "Close a connection that sends nothing for this long, 100ms...1h (default 60s; env KEYPORT_IDLE_TIMEOUT).")
    public var idleTimeout: String?

    @Option(name: .customLong("request-timeout"), help: "A started request must be complete within this, else 408 and close, 100ms...1h (default 30s; env KEYPORT_REQUEST_TIMEOUT).")
    public var requestTimeout: String?

    @Option(name: .customLong("otlp-endpoint"), help: "OTLP/HTTP base URL for traces, e.g. http://127.0.0.1:4318 (default: tracing off; env KEYPORT_OTLP_ENDPOINT, or OTEL_EXPORTER_OTLP_ENDPOINT).")
    public var otlpEndpoint: String?

    @Option(name: .customLong("trace-sample-ratio"), help: "Share of new traces sampled, 0...1; a caller's decision wins (default 1.0; env KEYPORT_TRACE_SAMPLE_RATIO, or OTEL_TRACES_SAMPLER_ARG).")
    public var traceSampleRatio: String?

    @Flag(name: .customLong("enable-fault-injection"), help: "Enable the /debug/* fault-injection endpoints (env KEYPORT_ENABLE_FAULT_INJECTION).")
    public var enableFaultInjection = false

    public init() {}
}
