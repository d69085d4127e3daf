import Logging
import Prometheus

/// swift-otel's diagnostic log handler: forwards its lines to keyport's log and counts dropped spans.
/// swift-otel 1.6 reports drops only as warnings on this logger (no metric, no callback), so the two
/// warnings it writes are the one place a count exists: "Spans were dropped …" carries `dropped_count`
/// (queue full) and "Failed to export batch." carries `batch_size` (spans the collector never got).
struct ExporterDiagnosticsLogHandler: LogHandler {
    static let queueFullMessage = "Spans were dropped this iteration because queue was full"
    static let exportFailedMessage = "Failed to export batch."

    private var upstream: any LogHandler
    private let dropped: Counter
    /// The level lines are forwarded at; counting sees every warning whatever it is.
    private var forwardLevel: Logger.Level

    init(upstream: any LogHandler, dropped: Counter) {
        self.upstream = upstream
        self.dropped = dropped
        self.forwardLevel = upstream.logLevel
    }

    var logLevel: Logger.Level {
        get { min(forwardLevel, .warning) }
        set { forwardLevel = newValue }
    }

    var metadata: Logger.Metadata {
        get { upstream.metadata }
        set { upstream.metadata = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { upstream[metadataKey: key] }
        set { upstream[metadataKey: key] = newValue }
    }

    func log(event: LogEvent) {
        if event.level == .warning, let lost = droppedSpans(in: event) {
            dropped.increment(by: Int64(lost))
        }
        if event.level >= forwardLevel { upstream.log(event: event) }
    }

    private func droppedSpans(in event: LogEvent) -> Int? {
        let key: String
        switch "\(event.message)" {
        case Self.queueFullMessage: key = "dropped_count"
        case Self.exportFailedMessage: key = "batch_size"
        default: return nil
        }
        guard let value = event.metadata?[key] ?? upstream[metadataKey: key] else { return nil }
        return Int("\(value)")
    }
}
