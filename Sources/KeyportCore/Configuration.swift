import Logging

/// Everything the server needs to start, built once from flags and environment and validated before binding.
public struct Configuration: Sendable, Equatable {
    /// The largest key length `--max-size` accepts.
    public static let maxKeySizeLimit = 1_048_576

    /// The service listener (`--srv-port`, `--host`): the API, `/health` and a terse `/ready`.
    public var port: Int = 1123
    /// `::` binds every address family: IPv6, and IPv4 too where the kernel allows (`HTTPServer` falls back to IPv4).
    public var host: String = "::"
    /// The admin listener (`--admin-port`, `--admin-host`): `/metrics`, `/version`, `/health`, `/ready`, `/debug/*`.
    public var adminPort: Int = 9123
    /// `nil` binds the admin listener to `host`.
    public var adminHost: String?
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

    /// Where the admin listener binds: `--admin-host`, else the service listener's host.
    public var resolvedAdminHost: String { adminHost ?? host }
}

/// A flag or environment value that is out of range; `description` is the one line printed before exiting.
public struct ConfigurationError: Error, Equatable, CustomStringConvertible {
    public var flag: String
    public var value: String
    public var accepted: String

    public var description: String {
        // Standard variables such as OTEL_EXPORTER_OTLP_ENDPOINT have no flag twin.
        guard flag.hasPrefix("--") else { return "invalid value \"\(value)\" for \(flag): expected \(accepted)" }
        guard ServerFlag.named(flag) != nil else { return "unknown flag \(flag): expected \(accepted)" }
        return "invalid value \"\(value)\" for \(flag) (env \(Configuration.environmentName(of: flag))): expected \(accepted)"
    }
}

extension Configuration {
    /// `--max-size` → `KEYPORT_MAX_SIZE`.
    public static func environmentName(of flag: String) -> String {
        "KEYPORT_" + String(flag.drop(while: { $0 == "-" }).uppercased().map { $0 == "-" ? "_" : $0 })
    }

    /// Resolves each setting from its flag in `arguments` (`keyport serve`'s, without the command name),
    /// else its `KEYPORT_*` environment variable, else the default, reading the declarations in `ServerFlag.all`.
    public init(arguments: [String], environment: [String: String]) throws(ConfigurationError) {
        self.init()
        let commandLine = try ServerFlag.commandLine(arguments)
        func value(_ flag: ServerFlag) -> String? {
            if let given = commandLine[flag.name] { return given }
            let variable = environment[flag.environmentName]
            return flag.blankEnvironmentIsUnset && variable?.isEmpty == true ? nil : variable
        }
        for flag in ServerFlag.all {
            guard let raw = value(flag) else { continue }
            do {
                try flag.apply(&self, raw)
            } catch {
                let accepted = (error as? ServerFlag.Rejection)?.accepted ?? "a valid value (\(error))"
                throw ConfigurationError(flag: flag.name, value: raw, accepted: accepted)
            }
        }
        func valueOf(_ name: String) -> String? { ServerFlag.named(name).flatMap(value) }
        tls = try Self.tlsFiles(
            certificate: valueOf("--tls-cert-file"), key: valueOf("--tls-key-file"), clientCA: valueOf("--tls-client-ca-file"))
        tracing = try Self.tracing(tracing, environment: environment)
        // One port cannot carry both listeners (port 0 asks for a free one each).
        if adminPort == port, port != 0 {
            throw ConfigurationError(
                flag: "--admin-port", value: String(adminPort), accepted: "a port other than --srv-port's \(port)")
        }
    }

    /// Both of certificate and key, or neither; a client CA only with them. The files are read later, by `TLSMaterial`.
    private static func tlsFiles(certificate: String?, key: String?, clientCA: String?) throws(ConfigurationError) -> TLSFiles? {
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
}
