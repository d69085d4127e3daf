import KeyportCore
import KeyportPorts
import Synchronization

import SystemLibC

/// A long job's progress on standard error: on a terminal one line redrawn in place, otherwise (an init
/// container's log) one line every `PortsLoadProgressText.logInterval`.
final class ProgressLine: Sendable {
    let prefix: String
    let totalInputBytes: Int?
    let isTerminal = isatty(STDERR_FILENO) == 1
    /// When the line was last written, and whether a terminal line is waiting to be ended.
    private let state = Mutex<(last: Duration?, drawn: Bool)>((nil, false))

    init(prefix: String, totalInputBytes: Int?) {
        self.prefix = prefix
        self.totalInputBytes = totalInputBytes
    }

    func show(_ progress: PortsLoadProgress, elapsed: Duration) {
        let interval: Duration = isTerminal ? .milliseconds(200) : PortsLoadProgressText.logInterval
        let due = state.withLock { state -> Bool in
            let next = state.last.map { $0 + interval } ?? (isTerminal ? .milliseconds(500) : interval)
            guard elapsed >= next else { return false }
            state.last = elapsed
            state.drawn = isTerminal
            return true
        }
        guard due else { return }
        let text = prefix + PortsLoadProgressText.line(progress, elapsed: elapsed, totalInputBytes: totalInputBytes)
        FileOutput.standardError(isTerminal ? "\r\u{1B}[K" + text : text + "\n")
    }

    /// Clears the terminal line so the result prints on a clean one.
    func finish() {
        if state.withLock({ $0.drawn }) { FileOutput.standardError("\r\u{1B}[K") }
    }
}
