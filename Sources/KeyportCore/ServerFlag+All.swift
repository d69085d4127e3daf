import Logging

extension ServerFlag {
    /// Every flag of `keyport serve`, in the order `--help` and the README list them.
    public static let all: [ServerFlag] = [
        ServerFlag("--srv-port", "PORT", default: "1123", "the service listener's port, 0...65535 (0 picks a free one)") {
            $0.port = try integer($1, in: 0...65535)
        },
        ServerFlag(
            "--host", "ADDRESS", default: "`::`",
            "bind address; `::` takes IPv4 and IPv6 on one socket, and falls back to `0.0.0.0` (with a log line) where IPv6 is unavailable"
        ) {
            $0.host = try host($1)
        },
        ServerFlag(
            "--admin-port", "PORT", default: "9123",
            "the admin listener's port, 0...65535 (0 picks a free one; `/metrics`, `/version`, `/ready` with reasons, `/debug/*`); must differ from `--srv-port`"
        ) {
            $0.adminPort = try integer($1, in: 0...65535)
        },
        ServerFlag(
            "--admin-host", "ADDRESS", default: "the same as `--host`",
            "the admin listener's bind address, e.g. `127.0.0.1` to keep it on the machine"
        ) {
            $0.adminHost = try host($1)
        },
        ServerFlag("--max-size", "BYTES", default: "1024", "largest key in bytes, 1...\(Configuration.maxKeySizeLimit)") {
            $0.maxKeySize = try integer($1, in: 1...Configuration.maxKeySizeLimit)
        },
        ServerFlag(
            "--ports-file", "PATH",
            default: "the bundled sample (`Sources/KeyportCore/Resources` of the checkout it was built from, else `/usr/share/keyport`)",
            "JSON ports file to load at start"
        ) {
            $0.portsFile = try path($1, of: "a JSON ports file")
        },
        ServerFlag(
            "--ports-poll-interval", "DURATION", default: "`10s`",
            "how often the ports file is checked for a change (100ms ... 1h)"
        ) {
            $0.portsPollInterval = try duration(
                $1, in: .milliseconds(100) ... .seconds(3600), accepted: "a duration from 100ms to 1h such as 10s or 1m")
        },
        ServerFlag(
            "--ports-settle-time", "DURATION", default: "`2s`",
            "a changed ports file is loaded once it has not changed for this long (0s ... 10m): a file caught mid-write is not a failed load"
        ) {
            $0.portsSettleTime = try duration(
                $1, in: .zero ... .seconds(600), accepted: "a duration from 0s to 10m such as 2s or 500ms")
        },
        ServerFlag(
            "--log-level", "LEVEL", default: "`info`", Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")
        ) {
            guard let level = Logger.Level(rawValue: $1.lowercased()) else {
                throw Rejection(accepted: "one of " + Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))
            }
            $0.logLevel = level
        },
        ServerFlag("--log-format", "FORMAT", default: "`json`", "`json` (one object per line on stdout) or `text`") {
            guard let format = Configuration.LogFormat(rawValue: $1.lowercased()) else {
                throw Rejection(accepted: "json or text")
            }
            $0.logFormat = format
        },
        ServerFlag(
            "--shutdown-delay", "DURATION", default: "`0s` (the chart sets `5s`)",
            "after SIGTERM: time spent not ready but still serving, 0s ... 1h"
        ) {
            $0.shutdownDelay = try duration(
                $1, in: .zero ... .seconds(3600), accepted: "a duration from 0s to 1h such as 5s, 500ms or 1m")
        },
        ServerFlag(
            "--idle-timeout", "DURATION", default: "`60s`",
            "a connection that sends nothing for this long is closed (100ms ... 1h)"
        ) {
            $0.idleTimeout = try duration($1, in: Configuration.timeoutRange, accepted: timeoutAccepted)
        },
        ServerFlag(
            "--request-timeout", "DURATION", default: "`30s`",
            "a request must arrive whole this long after its first byte, else 408 and close (100ms ... 1h)"
        ) {
            $0.requestTimeout = try duration($1, in: Configuration.timeoutRange, accepted: timeoutAccepted)
        },
        // The TLS files are checked alone here and as a set once every flag is read (`Configuration.tlsFiles`).
        ServerFlag(
            "--tls-cert-file", "PATH", default: "none (plain HTTP)",
            "PEM certificate (the file may hold the chain, leaf first): the listener speaks HTTPS; reloaded when the files change"
        ) {
            _ = try path($1, of: "a PEM file")
        },
        ServerFlag("--tls-key-file", "PATH", default: "none", "the PEM private key of `--tls-cert-file`") {
            _ = try path($1, of: "a PEM file")
        },
        ServerFlag(
            "--tls-client-ca-file", "PATH", default: "none",
            "with TLS: require client certificates signed by this PEM CA (mutual TLS)"
        ) {
            _ = try path($1, of: "a PEM file")
        },
        ServerFlag(
            "--otlp-endpoint", "URL", default: "none (tracing off)",
            "OTLP/HTTP base URL for traces (`/v1/traces` is appended; see Tracing below)",
            blankEnvironmentIsUnset: true
        ) {
            $0.tracing = TracingConfiguration(
                tracesEndpoint: TracingConfiguration.tracesURL(base: try url($1)), sampleRatio: $0.tracing?.sampleRatio)
        },
        ServerFlag(
            "--trace-sample-ratio", "RATIO", default: "`1.0`",
            "share of new traces sampled, 0 ... 1; parent-based, so a caller's decision wins"
        ) {
            $0.tracing = TracingConfiguration(tracesEndpoint: $0.tracing?.tracesEndpoint, sampleRatio: try ratio($1))
        },
        ServerFlag(
            "--enable-fault-injection", nil, default: "off", "turns on the `/debug/*` endpoints; never in production"
        ) {
            $0.faultInjectionEnabled = try boolean($1)
        },
    ]

    private static let timeoutAccepted = "a duration from 100ms to 1h such as 30s or 1m"
}

// The value grammars, each written once; a `Rejection` says what is accepted and the caller names the flag.
extension ServerFlag {
    static func integer(_ raw: String, in range: ClosedRange<Int>) throws(Rejection) -> Int {
        guard let number = Int(raw), range.contains(number) else {
            throw Rejection(accepted: "an integer in \(range.lowerBound)...\(range.upperBound)")
        }
        return number
    }

    static func host(_ raw: String) throws(Rejection) -> String {
        guard !raw.isEmpty, !raw.contains(where: { $0 == " " || $0 == "/" }) else {
            throw Rejection(accepted: "an IPv4/IPv6 address or host name")
        }
        return raw
    }

    static func duration(_ raw: String, in range: ClosedRange<Duration>, accepted: String) throws(Rejection) -> Duration {
        guard let duration = Duration.parse(raw), range.contains(duration) else { throw Rejection(accepted: accepted) }
        return duration
    }

    static func path(_ raw: String, of kind: String) throws(Rejection) -> String {
        guard !raw.isEmpty else { throw Rejection(accepted: "a path to \(kind)") }
        return raw
    }

    static func url(_ raw: String) throws(Rejection) -> String {
        guard TracingConfiguration.isHTTPURL(raw) else {
            throw Rejection(accepted: "an http:// or https:// URL such as http://127.0.0.1:4318")
        }
        return raw
    }

    static func ratio(_ raw: String) throws(Rejection) -> Double {
        guard let ratio = Double(raw), (0.0...1.0).contains(ratio) else {
            throw Rejection(accepted: "a number from 0 to 1 such as 0.1")
        }
        return ratio
    }

    static func boolean(_ raw: String) throws(Rejection) -> Bool {
        switch raw.lowercased() {
        case "1", "true", "yes", "on": return true
        case "", "0", "false", "no", "off": return false
        default: throw Rejection(accepted: "true or false")
        }
    }
}
