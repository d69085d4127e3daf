@testable import KeyportCore
import Logging
import Synchronization
import Testing

@Suite struct ExporterDiagnosticsLogHandlerTests {
    final class Recorder: Sendable {
        let messages = Mutex<[String]>([])
    }

    struct RecordingHandler: LogHandler {
        let recorder: Recorder
        var logLevel: Logger.Level = .trace
        var metadata: Logger.Metadata = [:]

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            recorder.messages.withLock { $0.append("\(event.message)") }
        }
    }

    func diagnosticLogger(level: Logger.Level) -> (Logger, KeyportMetrics, Recorder) {
        let metrics = KeyportMetrics(maxKeySize: 1024)
        let recorder = Recorder()
        var logger = Logger(label: "swift-otel") { _ in
            ExporterDiagnosticsLogHandler(upstream: RecordingHandler(recorder: recorder), dropped: metrics.traceSpansDropped)
        }
        logger.logLevel = level
        return (logger, metrics, recorder)
    }

    func dropped(_ metrics: KeyportMetrics) throws -> Double? {
        try MetricsText(String(decoding: metrics.exposition(), as: UTF8.self)).value("keyport_trace_spans_dropped_total")
    }

    @Test func countsFailedBatchesAndQueueOverflowAndForwardsFromItsLevel() throws {
        let (logger, metrics, recorder) = diagnosticLogger(level: .warning)
        #expect(try dropped(metrics) == 0)
        // swift-otel puts batch_size on the logger, dropped_count on the call.
        var batch = logger
        batch[metadataKey: "batch_size"] = "7"
        batch.warning("\(ExporterDiagnosticsLogHandler.exportFailedMessage)")
        #expect(try dropped(metrics) == 7)
        logger.warning("\(ExporterDiagnosticsLogHandler.queueFullMessage)", metadata: ["dropped_count": "3"])
        #expect(try dropped(metrics) == 10)
        logger.warning("Failed to extract span context.")
        logger.info("Configuration updated from environment")
        batch.debug("Exported batch.")
        #expect(try dropped(metrics) == 10)
        #expect(recorder.messages.withLock { $0 } == [
            ExporterDiagnosticsLogHandler.exportFailedMessage, ExporterDiagnosticsLogHandler.queueFullMessage,
            "Failed to extract span context.",
        ])
    }

    @Test func countsEvenWhenWarningsAreNotForwarded() throws {
        let (logger, metrics, recorder) = diagnosticLogger(level: .error)
        logger.warning("\(ExporterDiagnosticsLogHandler.queueFullMessage)", metadata: ["dropped_count": "5"])
        logger.error("something else")
        #expect(try dropped(metrics) == 5)
        #expect(recorder.messages.withLock { $0 } == ["something else"])
    }
}
