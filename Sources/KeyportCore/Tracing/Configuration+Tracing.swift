extension Configuration {
    /// `--otlp-endpoint` / `--trace-sample-ratio` (or their `KEYPORT_*` twins) and the standard OTEL_*
    /// endpoint variables: `nil` (off) unless some endpoint is set; every value is checked before binding.
    static func tracing(flags: Flags, environment: [String: String]) throws(ConfigurationError) -> TracingConfiguration? {
        let endpointFlag = "--otlp-endpoint"
        let ratioFlag = "--trace-sample-ratio"
        var tracing = TracingConfiguration()
        // An empty KEYPORT_OTLP_ENDPOINT is unset, so compose and the chart can pass it through blank.
        let endpointVariable = environment[environmentName(of: endpointFlag)].flatMap { $0.isEmpty ? nil : $0 }
        if let raw = flags.otlpEndpoint ?? endpointVariable {
            tracing.tracesEndpoint = TracingConfiguration.tracesURL(base: try checkedURL(raw, name: endpointFlag))
        }
        if let raw = flags.traceSampleRatio ?? environment[environmentName(of: ratioFlag)] {
            tracing.sampleRatio = try ratio(raw, name: ratioFlag)
        }
        // swift-otel reads these itself; they are checked here too so a typo fails at start, not silently.
        var fromEnvironment = false
        for name in ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] {
            guard let raw = environment[name], !raw.isEmpty else { continue }
            _ = try checkedURL(raw, name: name)
            fromEnvironment = true
        }
        try checkChoice(environment, "OTEL_TRACES_SAMPLER", in: [
            "always_on", "always_off", "traceidratio", "parentbased_always_on", "parentbased_always_off",
            "parentbased_traceidratio",
        ])
        if let raw = environment["OTEL_TRACES_SAMPLER_ARG"], !raw.isEmpty {
            _ = try ratio(raw, name: "OTEL_TRACES_SAMPLER_ARG")
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

    /// `raw` when it is a URL the OTLP/HTTP exporter can post to; `name` is the flag or variable it came from.
    private static func checkedURL(_ raw: String, name: String) throws(ConfigurationError) -> String {
        guard TracingConfiguration.isHTTPURL(raw) else {
            throw ConfigurationError(flag: name, value: raw, accepted: "an http:// or https:// URL such as http://127.0.0.1:4318")
        }
        return raw
    }

    /// A sampling ratio, 0 to 1.
    private static func ratio(_ raw: String, name: String) throws(ConfigurationError) -> Double {
        guard let ratio = Double(raw), (0.0...1.0).contains(ratio) else {
            throw ConfigurationError(flag: name, value: raw, accepted: "a number from 0 to 1 such as 0.1")
        }
        return ratio
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
