import SystemLibC

/// Wall-clock time for log lines, formatted without Foundation.
public enum WallClock {
    public struct Instant: Sendable {
        public var seconds: Int
        public var nanoseconds: Int

        /// RFC 3339 / ISO 8601 in UTC with milliseconds: `2026-11-23T18:00:00.123Z`.
        public var iso8601: String { iso8601(fractionDigits: 3) }

        /// RFC 3339 / ISO 8601 in UTC: milliseconds with 3 digits, whole seconds (`...:00Z`) with 0.
        public func iso8601(fractionDigits: Int) -> String {
            var time = time_t(seconds)
            var parts = tm()
            gmtime_r(&time, &parts)
            func pad(_ value: Int32, _ width: Int) -> String {
                let text = String(value)
                return String(repeating: "0", count: max(0, width - text.count)) + text
            }
            let fraction = fractionDigits == 3 ? "." + pad(Int32(nanoseconds / 1_000_000), 3) : ""
            return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
                + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2))\(fraction)Z"
        }

        public var secondsSinceEpoch: Double { Double(seconds) + Double(nanoseconds) / 1e9 }
    }

    public static func now() -> Instant {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Instant(seconds: spec.tv_sec, nanoseconds: spec.tv_nsec)
    }
}
