import Synchronization

/// Whether this instance should receive traffic: ports loaded, not draining, not forced down.
/// Every change is mirrored into `keyport_ready`.
public final class Readiness: Sendable {
    public struct State: Sendable, Equatable {
        public var portsLoaded = false
        /// Why the ports data is not there, e.g. a load error; `nil` while the first load runs. Shown on the admin `/ready`.
        public var portsProblem: String?
        public var draining = false
        /// Set by `POST /debug/ready {"ready": false}`.
        public var forcedNotReady = false

        /// `nil` when ready, else the reason.
        public var notReadyReason: String? {
            if draining { return "shutting down" }
            if forcedNotReady { return "forced not ready by POST /debug/ready" }
            if !portsLoaded { return portsProblem ?? "ports file not loaded yet" }
            return nil
        }

        /// `nil` when ready, else a short code for the reason: what the service listener's `/ready` may show
        /// to anyone (no paths, no error text).
        public var notReadyCode: String? {
            if draining { return "draining" }
            if forcedNotReady { return "forced" }
            if !portsLoaded { return portsProblem == nil ? "loading" : "load_failed" }
            return nil
        }
    }

    private let state = Mutex(State())
    private let metrics: KeyportMetrics?

    public init(metrics: KeyportMetrics?) {
        self.metrics = metrics
    }

    public var current: State { state.withLock { $0 } }

    /// Changes the state and sets the gauge under the same lock, so the last change wins for both.
    public func update(_ change: (inout State) -> Void) {
        state.withLock { state in
            change(&state)
            metrics?.ready.set(to: state.notReadyReason == nil ? 1 : 0)
        }
    }
}
