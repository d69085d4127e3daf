import KeyportPorts
import Synchronization

/// Holds the snapshot being served. A reload builds a whole new snapshot elsewhere and swaps it in
/// here in one step, so a request sees either the old data or the new, never a mix.
public final class ServedSnapshot: Sendable {
    private let current = Mutex(PortsSnapshot.empty)
    private let metrics: KeyportMetrics?

    public init(metrics: KeyportMetrics?) {
        self.metrics = metrics
    }

    /// The snapshot to answer one request from; hold on to it for the whole request.
    public var snapshot: PortsSnapshot { current.withLock { $0 } }

    public func replace(with snapshot: PortsSnapshot) {
        current.withLock { $0 = snapshot }
        metrics?.ports.set(to: Double(snapshot.count))
    }
}
