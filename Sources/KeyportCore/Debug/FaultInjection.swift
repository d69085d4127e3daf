import Synchronization

/// The state behind the `/debug/*` endpoints: an error rate for `/key` and `/ports`, and memory ballast.
public final class FaultInjection: Sendable {
    private struct State {
        var errorRate = 0.0
        var ballast: [UInt8] = []
    }
    private let state = Mutex(State())
    /// A cheap pre-check so the request path takes no lock while no fault is set.
    private let active = Atomic<Bool>(false)

    public init() {}

    public var errorRate: Double { state.withLock { $0.errorRate } }
    public var ballastBytes: Int { state.withLock { $0.ballast.count } }

    public func setErrorRate(_ rate: Double) {
        state.withLock { $0.errorRate = rate }
        active.store(rate > 0, ordering: .relaxed)
    }

    /// Whether this request should fail with a 500.
    public func shouldFail() -> Bool {
        guard active.load(ordering: .relaxed) else { return false }
        let rate = errorRate
        return rate >= 1 || Double.random(in: 0..<1) < rate
    }

    /// Holds `bytes` of memory, every page written so it is resident; 0 frees it.
    public func setBallast(bytes: Int) {
        let ballast = bytes > 0 ? [UInt8](repeating: 0xA5, count: bytes) : []
        state.withLock { $0.ballast = ballast }
    }
}
