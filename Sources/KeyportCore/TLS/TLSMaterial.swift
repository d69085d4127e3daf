import KeyportPorts
import NIOSSL
import SystemLibC

/// One loaded, validated certificate chain and key as a ready `NIOSSLContext`, with what the metrics
/// and logs say about the leaf certificate.
public struct TLSMaterial: Sendable {
    public let context: NIOSSLContext
    /// The leaf certificate's notAfter, seconds since the Unix epoch.
    public let notAfter: Int
    /// The leaf certificate's serial number in upper-case hex, as `openssl x509 -serial` prints it.
    public let serial: String

    /// TLS 1.2 suites: ECDHE key exchange with AEAD ciphers only (TLS 1.3's suites are all AEAD and fixed
    /// by BoringSSL). No CBC, no static RSA key exchange, no SHA-1 MACs.
    public static let cipherSuites = "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL:!eNULL:!MD5:!SHA1"
    /// Protocols offered with ALPN.
    public static let applicationProtocols = ["http/1.1"]
    /// Files larger than this are not certificates or keys.
    static let fileLimit = 1 << 20

    /// Reads and checks the files and builds the server context. Does blocking file I/O: call it off the
    /// event loop. `now` (seconds since the epoch) decides whether the leaf has expired.
    public static func load(_ files: TLSFiles, now: Int) throws(TLSLoadError) -> TLSMaterial {
        let chain = try certificates(files.certificate, flag: "--tls-cert-file")
        let leaf = chain[0]
        if leaf.notValidAfter <= now {
            throw TLSLoadError(
                flag: "--tls-cert-file", path: files.certificate,
                problem: "certificate expired at \(Self.timestamp(Int(leaf.notValidAfter)))")
        }
        let keyBytes = try read(files.key, flag: "--tls-key-file")
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(bytes: keyBytes, format: .pem)
        } catch {
            throw TLSLoadError(flag: "--tls-key-file", path: files.key, problem: "no PEM private key in the file (\(error))")
        }
        var configuration: TLSConfiguration
        let chainSources = chain.map(NIOSSLCertificateSource.certificate)
        if let clientCA = files.clientCA {
            let roots = try certificates(clientCA, flag: "--tls-client-ca-file")
            configuration = .makeServerConfigurationWithMTLS(
                certificateChain: chainSources, privateKey: .privateKey(key), trustRoots: .certificates(roots))
        } else {
            configuration = .makeServerConfiguration(certificateChain: chainSources, privateKey: .privateKey(key))
        }
        configuration.minimumTLSVersion = .tlsv12
        configuration.maximumTLSVersion = .tlsv13
        configuration.cipherSuites = cipherSuites
        configuration.applicationProtocols = applicationProtocols
        // Servers never renegotiate (NIOSSL sets .none for them) and BoringSSL has no TLS compression.
        configuration.renegotiationSupport = .none
        let context: NIOSSLContext
        do {
            context = try NIOSSLContext(configuration: configuration)
        } catch {
            // BoringSSL refuses a key that is not the leaf certificate's (KEY_VALUES_MISMATCH).
            throw TLSLoadError(
                flag: "--tls-key-file", path: files.key,
                problem: "the key does not match the certificate in \(files.certificate) (\(error))")
        }
        return TLSMaterial(
            context: context, notAfter: Int(leaf.notValidAfter),
            serial: leaf.serialNumber.map { ASCIIHex.uppercase(UInt32($0), count: 2) }.joined())
    }

    private static func certificates(_ path: String, flag: String) throws(TLSLoadError) -> [NIOSSLCertificate] {
        let bytes = try read(path, flag: flag)
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMBytes(bytes)
        } catch {
            throw TLSLoadError(flag: flag, path: path, problem: "no PEM certificate in the file (\(error))")
        }
        guard !chain.isEmpty else {
            throw TLSLoadError(flag: flag, path: path, problem: "no PEM certificate in the file")
        }
        return chain
    }

    private static func read(_ path: String, flag: String) throws(TLSLoadError) -> [UInt8] {
        guard let bytes = SmallFile.readBytes(path, limit: fileLimit + 1) else {
            let problem = access(path, F_OK) == 0 ? "the file cannot be read" : "the file does not exist"
            throw TLSLoadError(flag: flag, path: path, problem: problem)
        }
        guard bytes.count <= fileLimit else {
            throw TLSLoadError(flag: flag, path: path, problem: "the file is larger than \(fileLimit) bytes")
        }
        return bytes
    }

    /// `2026-12-01T10:40:00Z`: certificate times are whole seconds.
    static func timestamp(_ seconds: Int) -> String {
        WallClock.Instant(seconds: seconds, nanoseconds: 0).iso8601(fractionDigits: 0)
    }
}
