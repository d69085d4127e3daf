import ArgumentParser
import KeyportCore

/// The server's command-line flags. Values are kept as text so `Configuration` can fall back to the
/// environment and report a bad value in one line naming the flag and its accepted range.
struct ServeOptions: ParsableArguments, Sendable {
    @Option(name: .customLong("srv-port"), help: "Listening port, 0...65535 (default 1123; env KEYPORT_SRV_PORT).")
    var srvPort: String?

    @Option(help: "Bind address (default 0.0.0.0; env KEYPORT_HOST).")
    var host: String?

    @Option(name: .customLong("max-size"), help: "Largest key in bytes, 1...1048576 (default 1024; env KEYPORT_MAX_SIZE).")
    var maxSize: String?

    @Option(name: .customLong("ports-file"), help: "JSON ports file to load (default: the bundled sample; env KEYPORT_PORTS_FILE).")
    var portsFile: String?

    @Option(name: .customLong("ports-poll-interval"), help: "How often the ports file is checked for a change, 100ms...1h (default 10s; env KEYPORT_PORTS_POLL_INTERVAL).")
    var portsPollInterval: String?

    @Option(name: .customLong("ports-settle-time"), help: "A changed ports file is loaded once unchanged for this long, 0s...10m (default 2s; env KEYPORT_PORTS_SETTLE_TIME).")
    var portsSettleTime: String?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical (default info; env KEYPORT_LOG_LEVEL).")
    var logLevel: String?

    @Option(name: .customLong("log-format"), help: "json or text (default json; env KEYPORT_LOG_FORMAT).")
    var logFormat: String?

    @Option(name: .customLong("shutdown-delay"), help: "After SIGTERM, time spent not ready but still serving, e.g. 5s (default 0s; env KEYPORT_SHUTDOWN_DELAY).")
    var shutdownDelay: String?

    @Option(name: .customLong("idle-timeout"), help: "Close a connection that sends nothing for this long, 100ms...1h (default 60s; env KEYPORT_IDLE_TIMEOUT).")
    var idleTimeout: String?

    @Option(name: .customLong("request-timeout"), help: "A started request must be complete within this, else 408 and close, 100ms...1h (default 30s; env KEYPORT_REQUEST_TIMEOUT).")
    var requestTimeout: String?

    @Option(name: .customLong("tls-cert-file"), help: "PEM certificate (chain): serve HTTPS; reloaded when it changes (with --tls-key-file; env KEYPORT_TLS_CERT_FILE).")
    var tlsCertFile: String?

    @Option(name: .customLong("tls-key-file"), help: "PEM private key of --tls-cert-file (env KEYPORT_TLS_KEY_FILE).")
    var tlsKeyFile: String?

    @Option(name: .customLong("tls-client-ca-file"), help: "With TLS: require client certificates signed by this PEM CA (mutual TLS; env KEYPORT_TLS_CLIENT_CA_FILE).")
    var tlsClientCAFile: String?

    @Option(name: .customLong("otlp-endpoint"), help: "OTLP/HTTP base URL for traces, e.g. http://127.0.0.1:4318 (default: tracing off; env KEYPORT_OTLP_ENDPOINT, or OTEL_EXPORTER_OTLP_ENDPOINT).")
    var otlpEndpoint: String?

    @Option(name: .customLong("trace-sample-ratio"), help: "Share of new traces sampled, 0...1; a caller's decision wins (default 1.0; env KEYPORT_TRACE_SAMPLE_RATIO, or OTEL_TRACES_SAMPLER_ARG).")
    var traceSampleRatio: String?

    @Flag(name: .customLong("enable-fault-injection"), help: "Enable the /debug/* fault-injection endpoints (env KEYPORT_ENABLE_FAULT_INJECTION).")
    var enableFaultInjection = false

    /// The flags as plain values, for `Configuration(flags:environment:)`.
    var flags: Configuration.Flags {
        Configuration.Flags(
            srvPort: srvPort, host: host, maxSize: maxSize, portsFile: portsFile, logLevel: logLevel,
            logFormat: logFormat, shutdownDelay: shutdownDelay, idleTimeout: idleTimeout,
            requestTimeout: requestTimeout, tlsCertFile: tlsCertFile, tlsKeyFile: tlsKeyFile,
            tlsClientCAFile: tlsClientCAFile, otlpEndpoint: otlpEndpoint, traceSampleRatio: traceSampleRatio,
            enableFaultInjection: enableFaultInjection, portsPollInterval: portsPollInterval,
            portsSettleTime: portsSettleTime)
    }
}
