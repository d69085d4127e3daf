import Logging
import NIOHTTP1
import ServiceLifecycle

/// `keyport reload-on-change`: watches mounted configuration directories and, once a change has
/// settled, POSTs a reload URL (Prometheus' and Alertmanager's `/-/reload`). A reload the server
/// refuses leaves its previous configuration serving; the server's own
/// `*_config_last_reload_successful` metric is what alerts, and the next change is tried again.
public final class ConfigReloader: Service, Sendable {
    let directories: [String]
    let url: String
    let pollInterval: Duration
    let timeout: Duration
    let logger: Logger
    /// Files a volume update writes one after the other are reloaded once, after the last write.
    static let settleTime: Duration = .milliseconds(200)

    public init(directories: [String], url: String, pollInterval: Duration, timeout: Duration, logger: Logger) {
        self.directories = directories
        self.url = url
        self.pollInterval = pollInterval
        self.timeout = timeout
        self.logger = logger
    }

    public func run() async throws {
        do {
            try await cancelWhenGracefulShutdown { try await self.watch() }
        } catch is CancellationError {
            // Graceful shutdown cancels the watcher; that is a normal end.
        }
    }

    /// Polls until cancelled; the files present at start are the baseline (no reload at start-up).
    private func watch() async throws {
        var lastSeen = snapshot()
        logger.info(
            "watching for configuration changes",
            metadata: ["directories": "\(directories)", "url": "\(url)", "files": "\(lastSeen.map(\.entries.count))"])
        while true {
            try await Task.sleep(for: pollInterval)
            let now = snapshot()
            guard now != lastSeen else { continue }
            lastSeen = await settle(from: now)
            await reload()
        }
    }

    /// Runs as the process's only service until SIGTERM or SIGINT.
    public func runUntilTerminated() async throws {
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: self)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }

    private func snapshot() -> [DirectoryIdentity] {
        directories.map(DirectoryIdentity.of)
    }

    /// Waits until nothing changes for `settleTime` (bounded: a directory rewritten forever still reloads).
    private func settle(from seen: [DirectoryIdentity]) async -> [DirectoryIdentity] {
        var seen = seen
        for _ in 0..<10 {
            do { try await Task.sleep(for: Self.settleTime) } catch { return seen }
            let now = snapshot()
            if now == seen { return seen }
            seen = now
        }
        return seen
    }

    /// One POST to the reload URL; the outcome is logged, never fatal.
    public func reload() async {
        do {
            let status = try await HealthCheck.run(url: url, timeout: timeout, method: .POST)
            logger.notice("configuration reloaded", metadata: ["url": "\(url)", "status": "\(status)"])
        } catch {
            logger.error(
                "reload failed; the server keeps its previous configuration",
                metadata: ["url": "\(url)", "error": "\(error)"])
        }
    }
}
