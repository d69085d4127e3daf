@testable import KeyportCore
import Testing

/// Command-line style arguments (`--flag value`, `--flag=value`, `--enable-fault-injection`) as the
/// `Configuration.Flags` the executable's parser hands over, so configuration tests read like command lines.
enum FlagArguments {
    static func flags(_ arguments: [String]) -> Configuration.Flags {
        var flags = Configuration.Flags()
        var rest = arguments[...]
        while let argument = rest.popFirst() {
            let name: String
            let value: String?
            if let equals = argument.firstIndex(of: "=") {
                name = String(argument[..<equals])
                value = String(argument[argument.index(after: equals)...])
            } else {
                name = argument
                value = name == "--enable-fault-injection" ? nil : rest.popFirst()
            }
            switch name {
            case "--srv-port": flags.srvPort = value
            case "--host": flags.host = value
            case "--max-size": flags.maxSize = value
            case "--ports-file": flags.portsFile = value
            case "--ports-poll-interval": flags.portsPollInterval = value
            case "--ports-settle-time": flags.portsSettleTime = value
            case "--log-level": flags.logLevel = value
            case "--log-format": flags.logFormat = value
            case "--shutdown-delay": flags.shutdownDelay = value
            case "--idle-timeout": flags.idleTimeout = value
            case "--request-timeout": flags.requestTimeout = value
            case "--tls-cert-file": flags.tlsCertFile = value
            case "--tls-key-file": flags.tlsKeyFile = value
            case "--tls-client-ca-file": flags.tlsClientCAFile = value
            case "--otlp-endpoint": flags.otlpEndpoint = value
            case "--trace-sample-ratio": flags.traceSampleRatio = value
            case "--enable-fault-injection": flags.enableFaultInjection = true
            default: Issue.record("unknown flag \(name) in a test")
            }
        }
        return flags
    }
}
