import NIOCore
import Synchronization

/// The state behind the `/debug/*` endpoints: an error rate and a delay for `/key` and `/ports`, and memory ballast.
public final class FaultInjection: Sendable {
    /// The longest delay `/debug/fault` accepts, in milliseconds (below the default request timeout).
    public static let maxDelayMilliseconds = 10_000

    private struct State {
        var errorRate = 0.0
        var ballast: [UInt8] = []
    }
    private let state = Mutex(State())
    /// A cheap pre-check so the request path takes no lock while no error rate is set.
    private let active = Atomic<Bool>(false)
    private let delay = Atomic<Int>(0)

    public init() {}

    public var errorRate: Double { state.withLock { $0.errorRate } }
    /// The delay added to every `/key` and `/ports` response; zero when none is injected.
    public var responseDelay: TimeAmount { .milliseconds(Int64(delay.load(ordering: .relaxed))) }

    public func setErrorRate(_ rate: Double) {
        state.withLock { $0.errorRate = rate }
        active.store(rate > 0, ordering: .relaxed)
    }

    /// Sets the delay of `/key` and `/ports` responses, clamped to 0...maxDelayMilliseconds.
    public func setDelay(milliseconds: Int) {
        delay.store(min(max(milliseconds, 0), Self.maxDelayMilliseconds), ordering: .relaxed)
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
