import KeyportPorts

/// One progress line for a long ports load, the same for the server's log, `ports validate` and
/// `ports fetch`: bytes, records, rate and, where the total is known, the time left.
public enum PortsLoadProgressText {
    /// How often a load that is not on a terminal logs its progress.
    public static let logInterval: Duration = .seconds(5)

    /// e.g. `120.4 MB of 311.2 MB (38%), 402113 records, 61.2 MB/s, about 3s left`.
    public static func line(_ progress: PortsLoadProgress, elapsed: Duration, totalInputBytes: Int?) -> String {
        let seconds = max(elapsed.seconds, 0.001)
        // A file that grew since its size was taken has no known total.
        let totalInputBytes = totalInputBytes.flatMap { $0 >= progress.inputBytes ? $0 : nil }
        var text = megabytes(progress.inputBytes)
        if let total = totalInputBytes, total > 0 {
            text += " of \(megabytes(total)) (\(min(100, progress.inputBytes * 100 / total))%)"
        }
        text += ", \(progress.recordsParsed) records, \(rate(progress.bytesParsed, seconds: seconds))"
        if let total = totalInputBytes, total > 0, progress.inputBytes > 0 {
            let left = Double(total - progress.inputBytes) / (Double(progress.inputBytes) / seconds)
            text += ", about \(Int(left.rounded(.up)))s left"
        }
        return text
    }

    /// Decimal megabytes with one decimal, e.g. `311.2 MB`.
    public static func megabytes(_ bytes: Int) -> String {
        let tenths = (bytes + 50_000) / 100_000
        return "\(tenths / 10).\(tenths % 10) MB"
    }

    /// Parse rate in decimal MB/s.
    public static func rate(_ bytes: Int, seconds: Double) -> String {
        let perSecond = Double(bytes) / max(seconds, 0.001) / 1e6
        return "\(Double(Int(perSecond * 10)) / 10) MB/s"
    }
}
