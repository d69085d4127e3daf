import Instrumentation
import NIOHTTP1

/// Reads `traceparent`/`tracestate` from NIO's request headers; swift-distributed-tracing leaves the carrier
/// adapter to the HTTP library and NIO ships none.
struct HTTPHeadersExtractor: Extractor {
    func extract(key: String, from carrier: HTTPHeaders) -> String? {
        carrier.first(name: key)
    }
}
