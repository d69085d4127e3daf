extension Configuration {
    /// `--otlp-endpoint` / `--trace-sample-ratio` as the flags left them, checked with the standard OTEL_*
    /// variables: `nil` (off) unless some endpoint is set; every value is checked before binding.
    static func tracing(
        _ fromFlags: TracingConfiguration?, environment: [String: String]
    ) throws(ConfigurationError) -> TracingConfiguration? {
        let tracing = fromFlags ?? TracingConfiguration()
        // swift-otel reads these itself; they are checked here too so a typo fails at start, not silently.
        var fromEnvironment = false
        for name in ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] {
            guard let raw = environment[name], !raw.isEmpty else { continue }
            try check(raw, name: name, ServerFlag.url)
            fromEnvironment = true
        }
        try checkChoice(environment, "OTEL_TRACES_SAMPLER", in: [
            "always_on", "always_off", "traceidratio", "parentbased_always_on", "parentbased_always_off",
            "parentbased_traceidratio",
        ])
        if let raw = environment["OTEL_TRACES_SAMPLER_ARG"], !raw.isEmpty {
            try check(raw, name: "OTEL_TRACES_SAMPLER_ARG", ServerFlag.ratio)
        }
        // Only the OTLP/HTTP exporter is built in (the gRPC one would pull in the gRPC stack).
        for name in ["OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"] {
            try checkChoice(environment, name, in: ["http/protobuf", "http/json"])
        }
        let disabled = environment["OTEL_SDK_DISABLED"]?.lowercased() == "true"
            || environment["OTEL_TRACES_EXPORTER"]?.lowercased() == "none"
        guard tracing.tracesEndpoint != nil || fromEnvironment, !disabled else { return nil }
        return tracing
    }

    /// An OTEL_* variable checked with a flag's grammar (`ServerFlag.url`, `.ratio`); the error names the variable.
    private static func check<T>(
        _ raw: String, name: String, _ grammar: (String) throws(ServerFlag.Rejection) -> T
    ) throws(ConfigurationError) {
        do {
            _ = try grammar(raw)
        } catch {
            throw ConfigurationError(flag: name, value: raw, accepted: error.accepted)
        }
    }

    /// swift-otel stops the process on a sampler it does not implement, so unknown names fail here first.
    private static func checkChoice(
        _ environment: [String: String], _ name: String, in choices: [String]
    ) throws(ConfigurationError) {
        guard let raw = environment[name], !raw.isEmpty else { return }
        guard choices.contains(raw.lowercased()) else {
            throw ConfigurationError(flag: name, value: raw, accepted: "one of " + choices.joined(separator: ", "))
        }
    }
}
