extension Configuration {
    /// The server's flags as given on the command line, as text (`nil` when absent), so that
    /// `Configuration` can fall back to the environment and report a bad value in one line naming the
    /// flag and its accepted range. The command line itself lives in the `keyport` executable.
    public struct Flags: Sendable, Equatable {
        /// `--srv-port`
        public var srvPort: String?
        /// `--host`
        public var host: String?
        /// `--max-size`
        public var maxSize: String?
        /// `--ports-file`
        public var portsFile: String?
        /// `--ports-poll-interval`
        public var portsPollInterval: String?
        /// `--ports-settle-time`
        public var portsSettleTime: String?
        /// `--log-level`
        public var logLevel: String?
        /// `--log-format`
        public var logFormat: String?
        /// `--shutdown-delay`
        public var shutdownDelay: String?
        /// `--idle-timeout`
        public var idleTimeout: String?
        /// `--request-timeout`
        public var requestTimeout: String?
        /// `--tls-cert-file`
        public var tlsCertFile: String?
        /// `--tls-key-file`
        public var tlsKeyFile: String?
        /// `--tls-client-ca-file`
        public var tlsClientCAFile: String?
        /// `--otlp-endpoint`
        public var otlpEndpoint: String?
        /// `--trace-sample-ratio`
        public var traceSampleRatio: String?
        /// `--enable-fault-injection` (a switch: present or not)
        public var enableFaultInjection: Bool

        public init(
            srvPort: String? = nil, host: String? = nil, maxSize: String? = nil, portsFile: String? = nil,
            logLevel: String? = nil, logFormat: String? = nil, shutdownDelay: String? = nil,
            idleTimeout: String? = nil, requestTimeout: String? = nil, tlsCertFile: String? = nil,
            tlsKeyFile: String? = nil, tlsClientCAFile: String? = nil, otlpEndpoint: String? = nil,
            traceSampleRatio: String? = nil, enableFaultInjection: Bool = false,
            portsPollInterval: String? = nil, portsSettleTime: String? = nil
        ) {
            self.srvPort = srvPort
            self.host = host
            self.maxSize = maxSize
            self.portsFile = portsFile
            self.portsPollInterval = portsPollInterval
            self.portsSettleTime = portsSettleTime
            self.logLevel = logLevel
            self.logFormat = logFormat
            self.shutdownDelay = shutdownDelay
            self.idleTimeout = idleTimeout
            self.requestTimeout = requestTimeout
            self.tlsCertFile = tlsCertFile
            self.tlsKeyFile = tlsKeyFile
            self.tlsClientCAFile = tlsClientCAFile
            self.otlpEndpoint = otlpEndpoint
            self.traceSampleRatio = traceSampleRatio
            self.enableFaultInjection = enableFaultInjection
        }
    }
}
