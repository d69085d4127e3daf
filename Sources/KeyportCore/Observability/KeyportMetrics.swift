import NIOHTTP1
import Prometheus
import Synchronization

/// Every metric keyport exports, created once at start-up; connections resolve request counters and
/// histograms once per route and status and then only increment them.
public final class KeyportMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()

    /// Upper bounds of `http_request_duration_seconds`.
    public static let durationBuckets: [Duration] = [
        .microseconds(500), .milliseconds(1), .microseconds(2500), .milliseconds(5), .milliseconds(10),
        .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
        .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10),
    ]

    let keyLength: ValueHistogram
    let ready: Gauge
    let ports: Gauge
    let portsLoadSuccesses: Counter
    let portsLoadFailures: Counter
    let portsLoadDuration: Gauge
    let portsLastSuccess: Gauge
    /// Spans the exporter dropped (queue full) or could not deliver (export failed); 0 with tracing off.
    let traceSpansDropped: Counter
    private let process: ProcessMetrics

    private struct RequestKey: Hashable {
        var method: String
        var route: String
        var code: UInt
    }
    private struct RouteKey: Hashable {
        var method: String
        var route: String
    }
    private let requestCounters = Mutex<[RequestKey: Counter]>([:])
    private let durationHistograms = Mutex<[RouteKey: DurationHistogram]>([:])

    public init(maxKeySize: Int, buildInfo: BuildInfo = .current) {
        keyLength = registry.makeValueHistogram(
            descriptor: Self.descriptor("keyport_key_length_bytes", "Length of the keys served, in bytes."),
            labels: [], buckets: Self.keyLengthBuckets(maxKeySize: maxKeySize))
        ready = registry.makeGauge(
            descriptor: Self.descriptor("keyport_ready",
                "1 when the ports data is loaded and the server is not draining, else 0."))
        ports = registry.makeGauge(
            descriptor: Self.descriptor("keyport_ports",
                "Port records currently served."))
        portsLoadSuccesses = registry.makeCounter(
            descriptor: Self.descriptor("keyport_ports_loads_total",
                "Ports file loads, by result."), labels: [("result", "success")])
        portsLoadFailures = registry.makeCounter(
            descriptor: Self.descriptor("keyport_ports_loads_total",
                "Ports file loads, by result."), labels: [("result", "failure")])
        portsLoadDuration = registry.makeGauge(
            descriptor: Self.descriptor("keyport_ports_load_duration_seconds",
                "Duration of the last ports file load, successful or not."))
        portsLastSuccess = registry.makeGauge(
            descriptor: Self.descriptor("keyport_ports_last_success_timestamp_seconds",
                "Unix time of the last successful ports file load."))
        traceSpansDropped = registry.makeCounter(
            descriptor: Self.descriptor("keyport_trace_spans_dropped_total",
                "Spans the trace exporter dropped or could not deliver."))
        registry.makeGauge(
            descriptor: Self.descriptor("keyport_build_info", "Always 1; labelled with the running build's version and VCS revision."),
            labels: [("version", buildInfo.version), ("revision", buildInfo.revision)]
        ).set(to: 1)
        process = ProcessMetrics(registry: registry)
        ready.set(to: 0)
    }

    /// `max-size/20 × 1...20`: the histogram follows the configured maximum, not the default one.
    public static func keyLengthBuckets(maxKeySize: Int) -> [Double] {
        (1...20).map { Double(maxKeySize) * Double($0) / 20 }
    }

    /// The methods counted under their own label; any other shares `OTHER`, so a client cannot grow the
    /// label set. GET and HEAD come first: the hot path finds them at once.
    static let labelledMethods: [HTTPMethod] = [.GET, .HEAD, .POST, .PUT, .DELETE, .PATCH, .OPTIONS, .TRACE, .CONNECT]

    /// The method's label: its name, or `OTHER`.
    public static func methodLabel(_ method: HTTPMethod) -> String {
        methodSlot(method) == 0 ? "OTHER" : method.rawValue
    }

    /// The counter and the duration histogram of one method, route and status, resolved once.
    public struct RequestHandles: Sendable {
        let counter: Counter
        let histogram: DurationHistogram

        /// Counts one answered request and its duration.
        public func record(duration: Duration) {
            counter.increment()
            histogram.record(duration)
        }
    }

    /// A small number per method label (`OTHER` is 0), for keys that avoid hashing strings.
    public static func methodSlot(_ method: HTTPMethod) -> Int {
        labelledMethods.firstIndex(of: method).map { $0 + 1 } ?? 0
    }

    /// The handles for `method` on `route` answered with `status`, registered on first use.
    public func requestHandles(method: HTTPMethod, route: String, status: HTTPResponseStatus) -> RequestHandles {
        let methodLabel = Self.methodLabel(method)
        return RequestHandles(
            counter: requestCounter(methodLabel: methodLabel, route: route, code: status.code),
            histogram: durationHistogram(methodLabel: methodLabel, route: route))
    }

    /// Counts a request the HTTP layer refused before any route saw it (parse errors, 408, 413); it has
    /// no meaningful duration, so it is not put in the latency histogram.
    public func recordRejectedRequest(status: HTTPResponseStatus) {
        requestCounter(methodLabel: "OTHER", route: Router.unmatchedRoute, code: status.code).increment()
    }

    private func requestCounter(methodLabel: String, route: String, code: UInt) -> Counter {
        let requestKey = RequestKey(method: methodLabel, route: route, code: code)
        return requestCounters.withLock { counters in
            if let counter = counters[requestKey] { return counter }
            let counter = registry.makeCounter(
                descriptor: Self.descriptor(
                    "http_requests_total", "HTTP requests answered, by method, route template and status code."),
                labels: [("method", methodLabel), ("route", route), ("code", String(code))])
            counters[requestKey] = counter
            return counter
        }
    }

    private func durationHistogram(methodLabel: String, route: String) -> DurationHistogram {
        let routeKey = RouteKey(method: methodLabel, route: route)
        return durationHistograms.withLock { histograms in
            if let histogram = histograms[routeKey] { return histogram }
            let histogram = registry.makeDurationHistogram(
                descriptor: Self.descriptor(
                    "http_request_duration_seconds", "Time from a complete request to its response being written, by method and route template."),
                labels: [("method", methodLabel), ("route", route)], buckets: Self.durationBuckets)
            histograms[routeKey] = histogram
            return histogram
        }
    }

    public func recordKeyLength(_ length: Int) {
        keyLength.record(Double(length))
    }

    /// The Prometheus text exposition (format 0.0.4), with the process metrics sampled now.
    /// Reads /proc and the cgroup files: call it off the event loop.
    public func exposition() -> [UInt8] {
        process.update()
        var buffer: [UInt8] = []
        buffer.reserveCapacity(16 * 1024)
        registry.emit(into: &buffer)
        return buffer
    }

    static func descriptor(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }
}
