import Prometheus

/// The TLS metrics, registered beside `KeyportMetrics`' own only when the listener speaks HTTPS.
public final class TLSMetrics: Sendable {
    let reloadSuccesses: Counter
    let reloadFailures: Counter
    let certificateExpiry: Gauge

    public init(registry: PrometheusCollectorRegistry) {
        let reloads = KeyportMetrics.descriptor(
            "keyport_tls_reloads_total", "TLS certificate and key reloads after a file change, by result.")
        reloadSuccesses = registry.makeCounter(descriptor: reloads, labels: [("result", "success")])
        reloadFailures = registry.makeCounter(descriptor: reloads, labels: [("result", "failure")])
        certificateExpiry = registry.makeGauge(
            descriptor: KeyportMetrics.descriptor(
                "keyport_tls_certificate_expiry_timestamp_seconds",
                "notAfter of the TLS certificate served to new connections, as Unix time."))
    }
}
