#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Logging

/// A swift-log handler that writes one JSON object per line:
/// `{"time":"2026-11-23T18:00:00.123Z","level":"info","message":"…","label":"keyport",…metadata}`.
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String
    private let sink: LogSink

    public init(label: String, level: Logger.Level, sink: LogSink = .standardOutput) {
        self.label = label
        self.logLevel = level
        self.sink = sink
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        sink.write(Self.line(
            time: WallClock.now(), level: event.level, message: "\(event.message)", label: label,
            metadata: merged, source: event.source))
    }

    /// One log line, newline-terminated. Metadata keys that clash with the fixed fields are prefixed `meta_`.
    public static func line(
        time: WallClock.Instant, level: Logger.Level, message: String, label: String,
        metadata: Logger.Metadata, source: String
    ) -> [UInt8] {
        var json = JSONWriter(capacity: 256)
        json.beginObject()
        json.key("time"); json.string(time.iso8601)
        json.key("level"); json.string(level.rawValue)
        json.key("message"); json.string(message)
        json.key("logger"); json.string(label)
        for key in metadata.keys.sorted() {
            let name = ["time", "level", "message", "logger"].contains(key) ? "meta_" + key : key
            json.key(name)
            append(metadata[key]!, to: &json)
        }
        json.endObject()
        var bytes = json.bytes
        bytes.append(UInt8(ascii: "\n"))
        return bytes
    }

    private static func append(_ value: Logger.MetadataValue, to json: inout JSONWriter) {
        switch value {
        case .string(let text): json.string(text)
        case .stringConvertible(let convertible): json.string(convertible.description)
        case .array(let values):
            json.beginArray()
            for element in values { append(element, to: &json) }
            json.endArray()
        case .dictionary(let dictionary):
            json.beginObject()
            for key in dictionary.keys.sorted() {
                json.key(key)
                append(dictionary[key]!, to: &json)
            }
            json.endObject()
        }
    }
}

/// Where log lines go. Each line is written with one write(2), so lines from several threads never interleave.
public struct LogSink: Sendable {
    private let writeLine: @Sendable ([UInt8]) -> Void

    public init(_ writeLine: @escaping @Sendable ([UInt8]) -> Void) {
        self.writeLine = writeLine
    }

    public func write(_ line: [UInt8]) { writeLine(line) }

    public static let standardError = LogSink { line in fileDescriptor(2, line) }
    public static let standardOutput = LogSink { line in fileDescriptor(1, line) }

    private static func fileDescriptor(_ fd: Int32, _ line: [UInt8]) {
        line.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Glibc.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return
                }
                offset += written
            }
        }
    }
}

/// Wall-clock time for log lines, formatted without Foundation.
public enum WallClock {
    public struct Instant: Sendable {
        public var seconds: Int
        public var nanoseconds: Int

        /// RFC 3339 / ISO 8601 in UTC with milliseconds: `2026-11-23T18:00:00.123Z`.
        public var iso8601: String {
            var time = time_t(seconds)
            var parts = tm()
            gmtime_r(&time, &parts)
            func pad(_ value: Int32, _ width: Int) -> String {
                let text = String(value)
                return String(repeating: "0", count: max(0, width - text.count)) + text
            }
            return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
                + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2))."
                + "\(pad(Int32(nanoseconds / 1_000_000), 3))Z"
        }

        public var secondsSinceEpoch: Double { Double(seconds) + Double(nanoseconds) / 1e9 }
    }

    public static func now() -> Instant {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Instant(seconds: spec.tv_sec, nanoseconds: spec.tv_nsec)
    }
}
