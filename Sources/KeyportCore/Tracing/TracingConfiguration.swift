/// Where spans go and how new traces are sampled; `Configuration.tracing` is `nil` (tracing off) unless an
/// OTLP endpoint is configured by `--otlp-endpoint`, `KEYPORT_OTLP_ENDPOINT` or the standard OTEL_* variables.
public struct TracingConfiguration: Sendable, Equatable {
    /// The OTLP/HTTP traces URL from `--otlp-endpoint` (the base URL with `/v1/traces` appended), or `nil`
    /// when only the OTEL_* variables name the endpoint (swift-otel reads them itself).
    public var tracesEndpoint: String?
    /// Head-sampling ratio for new traces; a caller's sampled flag always wins (parent-based).
    /// `nil` when not set by flag, so swift-otel's `OTEL_TRACES_SAMPLER(_ARG)` handling applies.
    public var sampleRatio: Double?
    /// `service.name` unless `OTEL_SERVICE_NAME` says otherwise.
    public var serviceName: String = "keyport"

    public init(tracesEndpoint: String? = nil, sampleRatio: Double? = nil) {
        self.tracesEndpoint = tracesEndpoint
        self.sampleRatio = sampleRatio
    }

    /// `http://collector:4318` → `http://collector:4318/v1/traces`, the OTLP/HTTP rule for a base URL.
    static func tracesURL(base: String) -> String {
        base.hasSuffix("/") ? base + "v1/traces" : base + "/v1/traces"
    }

    /// An absolute http(s) URL with a host: what the OTLP/HTTP exporter can post to.
    static func isHTTPURL(_ text: String) -> Bool {
        let lowered = text.lowercased()
        let rest: Substring
        if lowered.hasPrefix("http://") {
            rest = text.dropFirst(7)
        } else if lowered.hasPrefix("https://") {
            rest = text.dropFirst(8)
        } else {
            return false
        }
        let authority = rest.prefix(while: { $0 != "/" && $0 != "?" && $0 != "#" })
        let host = authority.split(separator: "@").last.map { $0.split(separator: ":").first ?? "" } ?? ""
        let isBracketedIPv6 = authority.hasPrefix("[") && authority.contains("]")
        return (!host.isEmpty || isBracketedIPv6) && !text.contains(where: { $0 == " " || $0 == "\n" })
    }
}
