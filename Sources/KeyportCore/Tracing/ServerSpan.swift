import Logging
import NIOHTTP1
import Tracing

/// One request's server span, ended with the response status when the response is written. A class so
/// the connection handler's per-request record grows by one optional reference, `nil` with tracing off.
final class ServerSpan: Sendable {
    let span: any Span
    let logger: Logger
    let method: String
    let route: String

    init(span: any Span, logger: Logger, method: String, route: String) {
        self.span = span
        self.logger = logger
        self.method = method
        self.route = route
    }

    /// Runs `body` with the span as the current context, so log lines written in it carry its ids.
    func whileCurrent<Result>(_ body: () -> Result) -> Result {
        InstrumentationContext.$current.withValue(span.context, operation: body)
    }

    /// Records the status (error on 5xx) and ends the span. A 5xx logs one error line, and at debug level
    /// every request logs one line, carrying the span's `trace_id`/`span_id` so a log line leads to its trace.
    func end(status: HTTPResponseStatus) {
        let code = Int(status.code)
        let failed = code >= 500
        if span.isRecording {
            span.attributes["http.response.status_code"] = code
            if failed {
                span.attributes["error.type"] = String(code)
                span.setStatus(SpanStatus(code: .error))
            }
        }
        let level: Logger.Level = failed ? .error : .debug
        if logger.logLevel <= level {
            // The event loop has no task to carry the context: bind it for the metadata provider.
            whileCurrent {
                logger.log(
                    level: level, failed ? "request failed" : "request served",
                    metadata: ["method": "\(method)", "route": "\(route)", "status": "\(code)"])
            }
        }
        span.end()
    }

    /// The connection closed before the response could be written (client gone, timeout, shutdown).
    func abandon() {
        if span.isRecording {
            span.attributes["error.type"] = "connection_closed"
            span.setStatus(SpanStatus(code: .error, message: "connection closed before the response was written"))
        }
        span.end()
    }
}
