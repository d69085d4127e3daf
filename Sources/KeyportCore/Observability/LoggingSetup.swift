import Logging

extension Configuration {
    /// Makes the process-wide logger factory for the configured format and level.
    public func makeLogHandlerFactory(sink: LogSink = .standardOutput) -> @Sendable (String) -> any LogHandler {
        let level = logLevel
        switch logFormat {
        case .json:
            return { label in JSONLogHandler(label: label, level: level, sink: sink) }
        case .text:
            return { label in
                var handler = StreamLogHandler.standardOutput(label: label)
                handler.logLevel = level
                return handler
            }
        }
    }
}
