import Logging
import NIOHTTP1
import Tracing

/// One request's server span, ended with the response status when the response is written.
public struct ServerSpan: Sendable {
    let span: any Span
    let logger: Logger
    let method: String
    let route: String

    /// Records the status (error on 5xx) and ends the span. A 5xx logs one error line, and at debug level
    /// every request logs one line, carrying the span's `trace_id`/`span_id` so a log line leads to its trace.
    public func end(status: HTTPResponseStatus) {
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
            InstrumentationContext.$current.withValue(span.context) {
                logger.log(
                    level: level, failed ? "request failed" : "request served",
                    metadata: ["method": "\(method)", "route": "\(route)", "status": "\(code)"])
            }
        }
        span.end()
    }
}
