import Logging
import NIOPosix
import ServiceLifecycle

/// Watches the certificate, key and client CA files (path, inode, size, mtime, so a Kubernetes Secret's
/// `..data` symlink swap is seen) and swaps a good new pair in for new connections; a bad one leaves the
/// previous pair serving. Loading runs on the thread pool: building a context reads files and is slow.
public final class TLSReloader: Service, Sendable {
    let store: TLSCertificateStore
    let metrics: TLSMetrics
    let pollInterval: Duration
    let threadPool: NIOThreadPool
    let logger: Logger
    /// Files written one after the other (cert, then key) are loaded once both writes are done.
    static let settleTime: Duration = .milliseconds(200)

    public init(
        store: TLSCertificateStore, metrics: TLSMetrics, pollInterval: Duration, threadPool: NIOThreadPool,
        logger: Logger
    ) {
        self.store = store
        self.metrics = metrics
        self.pollInterval = pollInterval
        self.threadPool = threadPool
        self.logger = logger
        metrics.certificateExpiry.set(to: Double(store.current.notAfter))
    }

    public func run() async throws {
        let paths = store.files.paths
        // The store was loaded at start-up from these files: changes are measured from then.
        let initial = paths.map(FileIdentity.of)
        do {
            try await cancelWhenGracefulShutdown {
                try await FileIdentity.watch(paths, every: self.pollInterval, since: initial) {
                    _ = await FileIdentity.settle(paths, quietFor: Self.settleTime)
                    await self.reload()
                }
            }
        } catch is CancellationError {
            // Graceful shutdown cancels the watcher; that is a normal end.
        }
    }

    /// Loads the files once and serves the new pair, or logs why not and keeps the old one.
    public func reload() async {
        let files = store.files
        let result: Result<TLSMaterial, TLSLoadError>
        do {
            result = try await threadPool.runIfActive {
                do throws(TLSLoadError) {
                    return Result<TLSMaterial, TLSLoadError>.success(
                        try TLSMaterial.load(files, now: Int(WallClock.now().secondsSinceEpoch)))
                } catch {
                    return .failure(error)
                }
            }
        } catch {
            logger.error("TLS reload not run", metadata: ["error": "\(error)"])
            return
        }
        switch result {
        case .success(let material):
            let previous = store.current
            store.replace(with: material)
            metrics.reloadSuccesses.increment()
            metrics.certificateExpiry.set(to: Double(material.notAfter))
            logger.notice(
                "TLS certificate reloaded; new connections use it",
                metadata: [
                    "serial": "\(material.serial)", "previous_serial": "\(previous.serial)",
                    "not_after": "\(TLSMaterial.timestamp(material.notAfter))",
                ])
        case .failure(let error):
            metrics.reloadFailures.increment()
            logger.error(
                "TLS reload failed; still serving the previous certificate",
                metadata: ["error": "\(error)", "serial": "\(store.current.serial)"])
        }
    }
}
