import Logging
import OTel

extension Configuration {
    /// Makes the process-wide logger factory for the configured format and level.
    public func makeLogHandlerFactory(sink: LogSink = .standardOutput) -> @Sendable (String) -> any LogHandler {
        let level = logLevel
        // With tracing on, lines written inside a span carry its trace_id and span_id (swift-otel's provider).
        let provider = tracing == nil ? nil : OTel.makeLoggingMetadataProvider()
        switch logFormat {
        case .json:
            return { label in
                var handler = JSONLogHandler(label: label, level: level, sink: sink)
                handler.metadataProvider = provider
                return handler
            }
        case .text:
            return { label in
                var handler = StreamLogHandler.standardOutput(label: label, metadataProvider: provider)
                handler.logLevel = level
                return handler
            }
        }
    }
}
