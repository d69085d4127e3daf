import Logging

/// Everything the server needs to start, built once from flags and environment and validated before binding.
public struct Configuration: Sendable, Equatable {
    /// The largest key length `--max-size` accepts.
    public static let maxKeySizeLimit = 1_048_576

    public var port: Int = 1123
    public var host: String = "0.0.0.0"
    public var maxKeySize: Int = 1024
    /// `nil` means the bundled sample file.
    public var portsFile: String?
    public var logLevel: Logger.Level = .info
    public var logFormat: LogFormat = .json
    public var shutdownDelay: Duration = .zero
    public var faultInjectionEnabled: Bool = false
    /// How often the ports file is checked for changes (path, inode, size, mtime).
    public var portsPollInterval: Duration = .seconds(10)
    /// A changed ports file is loaded once it has looked the same for this long (not caught mid-write).
    public var portsSettleTime: Duration = .seconds(2)
    /// Connections that send nothing for this long are closed.
    public var idleTimeout: Duration = .seconds(60)
    /// A request must be complete (headers and body) this long after its first byte, else 408 and close.
    public var requestTimeout: Duration = .seconds(30)
    /// PEM certificate chain, key and client CA (`--tls-*`); `tls` is `nil` for plain HTTP.
    public var tls: TLSFiles?
    /// How often the TLS files are checked for changes (path, inode, size, mtime).
    public var tlsPollInterval: Duration = .seconds(2)
    /// Where spans go; `nil` means tracing is off (no endpoint configured).
    public var tracing: TracingConfiguration?
    /// The accepted range of `--idle-timeout` and `--request-timeout`.
    public static let timeoutRange: ClosedRange<Duration> = .milliseconds(100) ... .seconds(3600)

    public enum LogFormat: String, Sendable, CaseIterable {
        case json, text
    }

    public init() {}
}

/// A flag or environment value that is out of range; `description` is the one line printed before exiting.
public struct ConfigurationError: Error, Equatable, CustomStringConvertible {
    public var flag: String
    public var value: String
    public var accepted: String

    public var description: String {
        // Standard variables such as OTEL_EXPORTER_OTLP_ENDPOINT have no flag twin.
        guard flag.hasPrefix("--") else { return "invalid value \"\(value)\" for \(flag): expected \(accepted)" }
        return "invalid value \"\(value)\" for \(flag) (env \(Configuration.environmentName(of: flag))): expected \(accepted)"
    }
}

extension Configuration {
    /// `--max-size` → `KEYPORT_MAX_SIZE`.
    public static func environmentName(of flag: String) -> String {
        "KEYPORT_" + String(flag.drop(while: { $0 == "-" }).uppercased().map { $0 == "-" ? "_" : $0 })
    }

    /// Resolves each setting from its flag, else its `KEYPORT_*` environment variable, else the default.
    public init(flags: Flags, environment: [String: String]) throws(ConfigurationError) {
        self.init()
        func value(_ flag: String, _ option: String?) -> String? {
            option ?? environment[Self.environmentName(of: flag)]
        }
        if let raw = value("--srv-port", flags.srvPort) {
            port = try Self.integer(raw, flag: "--srv-port", in: 0...65535)
        }
        if let raw = value("--host", flags.host) {
            guard !raw.isEmpty, !raw.contains(where: { $0 == " " || $0 == "/" }) else {
                throw ConfigurationError(flag: "--host", value: raw, accepted: "an IPv4/IPv6 address or host name")
            }
            host = raw
        }
        if let raw = value("--max-size", flags.maxSize) {
            maxKeySize = try Self.integer(raw, flag: "--max-size", in: 1...Self.maxKeySizeLimit)
        }
        if let raw = value("--ports-file", flags.portsFile) {
            guard !raw.isEmpty else {
                throw ConfigurationError(flag: "--ports-file", value: raw, accepted: "a path to a JSON ports file")
            }
            portsFile = raw
        }
        if let raw = value("--ports-poll-interval", flags.portsPollInterval) {
            portsPollInterval = try Self.duration(
                raw, flag: "--ports-poll-interval", in: .milliseconds(100) ... .seconds(3600),
                accepted: "a duration from 100ms to 1h such as 10s or 1m")
        }
        if let raw = value("--ports-settle-time", flags.portsSettleTime) {
            portsSettleTime = try Self.duration(
                raw, flag: "--ports-settle-time", in: .zero ... .seconds(600),
                accepted: "a duration from 0s to 10m such as 2s or 500ms")
        }
        if let raw = value("--log-level", flags.logLevel) {
            guard let level = Logger.Level(rawValue: raw.lowercased()) else {
                throw ConfigurationError(
                    flag: "--log-level", value: raw,
                    accepted: "one of " + Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))
            }
            logLevel = level
        }
        if let raw = value("--log-format", flags.logFormat) {
            guard let format = LogFormat(rawValue: raw.lowercased()) else {
                throw ConfigurationError(flag: "--log-format", value: raw, accepted: "json or text")
            }
            logFormat = format
        }
        if let raw = value("--shutdown-delay", flags.shutdownDelay) {
            shutdownDelay = try Self.duration(
                raw, flag: "--shutdown-delay", in: .zero ... .seconds(3600),
                accepted: "a duration from 0s to 1h such as 5s, 500ms or 1m")
        }
        let timeoutAccepted = "a duration from 100ms to 1h such as 30s or 1m"
        if let raw = value("--idle-timeout", flags.idleTimeout) {
            idleTimeout = try Self.duration(raw, flag: "--idle-timeout", in: Self.timeoutRange, accepted: timeoutAccepted)
        }
        if let raw = value("--request-timeout", flags.requestTimeout) {
            requestTimeout = try Self.duration(raw, flag: "--request-timeout", in: Self.timeoutRange, accepted: timeoutAccepted)
        }
        tls = try Self.tlsFiles(
            certificate: value("--tls-cert-file", flags.tlsCertFile), key: value("--tls-key-file", flags.tlsKeyFile),
            clientCA: value("--tls-client-ca-file", flags.tlsClientCAFile))
        tracing = try Self.tracing(flags: flags, environment: environment)
        if flags.enableFaultInjection {
            faultInjectionEnabled = true
        } else if let raw = environment[Self.environmentName(of: "--enable-fault-injection")] {
            switch raw.lowercased() {
            case "1", "true", "yes", "on": faultInjectionEnabled = true
            case "", "0", "false", "no", "off": faultInjectionEnabled = false
            default:
                throw ConfigurationError(flag: "--enable-fault-injection", value: raw, accepted: "true or false")
            }
        }
    }

    /// Both of certificate and key, or neither; a client CA only with them. The files are read later, by `TLSMaterial`.
    private static func tlsFiles(certificate: String?, key: String?, clientCA: String?) throws(ConfigurationError) -> TLSFiles? {
        for (flag, raw) in [("--tls-cert-file", certificate), ("--tls-key-file", key), ("--tls-client-ca-file", clientCA)] {
            if let raw, raw.isEmpty {
                throw ConfigurationError(flag: flag, value: raw, accepted: "a path to a PEM file")
            }
        }
        switch (certificate, key) {
        case (nil, nil):
            if let clientCA {
                throw ConfigurationError(
                    flag: "--tls-client-ca-file", value: clientCA, accepted: "no value unless --tls-cert-file and --tls-key-file are set")
            }
            return nil
        case (let certificate?, let key?):
            return TLSFiles(certificate: certificate, key: key, clientCA: clientCA)
        case (nil, let key?):
            throw ConfigurationError(flag: "--tls-key-file", value: key, accepted: "no value unless --tls-cert-file is set too")
        case (let certificate?, nil):
            throw ConfigurationError(
                flag: "--tls-cert-file", value: certificate, accepted: "no value unless --tls-key-file is set too")
        }
    }

    private static func duration(
        _ raw: String, flag: String, in range: ClosedRange<Duration>, accepted: String
    ) throws(ConfigurationError) -> Duration {
        guard let duration = Duration.parse(raw), range.contains(duration) else {
            throw ConfigurationError(flag: flag, value: raw, accepted: accepted)
        }
        return duration
    }

    private static func integer(_ raw: String, flag: String, in range: ClosedRange<Int>) throws(ConfigurationError) -> Int {
        guard let number = Int(raw), range.contains(number) else {
            throw ConfigurationError(
                flag: flag, value: raw,
                accepted: "an integer in \(range.lowerBound)...\(range.upperBound)")
        }
        return number
    }
}
