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
