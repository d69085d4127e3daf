/// The PEM files the HTTPS listener serves from, as given by `--tls-cert-file`, `--tls-key-file` and
/// `--tls-client-ca-file`.
public struct TLSFiles: Sendable, Equatable {
    public var certificate: String
    public var key: String
    /// Client certificates must be signed by this CA when set (mutual TLS).
    public var clientCA: String?

    public init(certificate: String, key: String, clientCA: String? = nil) {
        self.certificate = certificate
        self.key = key
        self.clientCA = clientCA
    }

    /// Every file to watch for rotation.
    var paths: [String] { [certificate, key] + (clientCA.map { [$0] } ?? []) }
}
