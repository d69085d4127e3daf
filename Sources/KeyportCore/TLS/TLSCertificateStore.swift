import NIOSSL
import Synchronization

/// The certificate and key being served. The child channel initializer reads `context` for each new
/// connection, so a rotation reaches new connections at once while open ones keep their own.
public final class TLSCertificateStore: Sendable {
    public let files: TLSFiles
    private let material: Mutex<TLSMaterial>

    public init(files: TLSFiles, initial: TLSMaterial) {
        self.files = files
        material = Mutex(initial)
    }

    /// The context for a new connection.
    public var context: NIOSSLContext { material.withLock { $0.context } }

    public var current: TLSMaterial { material.withLock { $0 } }

    func replace(with new: TLSMaterial) {
        material.withLock { $0 = new }
    }
}
