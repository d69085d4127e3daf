import Foundation
@testable import KeyportCore
import Logging
import Synchronization
import Testing

@Suite struct LoggingTests {
    final class Lines: Sendable {
        let lines = Mutex<[String]>([])
        var all: [String] { lines.withLock { $0 } }
        var sink: LogSink { LogSink { bytes in self.lines.withLock { $0.append(String(decoding: bytes, as: UTF8.self)) } } }
    }

    @Test func timestampsAreRFC3339InUTC() {
        let instant = WallClock.Instant(seconds: 1_795_430_400 + 3_723, nanoseconds: 45_600_000)
        #expect(instant.iso8601 == "2026-11-23T11:42:03.045Z")
        #expect(instant.iso8601(fractionDigits: 0) == "2026-11-23T11:42:03Z")
        #expect(TLSMaterial.timestamp(0) == "1970-01-01T00:00:00Z")
    }

    @Test func jsonLinesCarryTimeLevelMessageAndMetadata() throws {
        let lines = Lines()
        var logger = Logger(label: "keyport") { JSONLogHandler(label: $0, level: .info, sink: lines.sink) }
        logger[metadataKey: "component"] = "test"
        logger.info("ports \"file\" loaded\n", metadata: ["records": "1632", "level": "clash", "nested": ["a": "b"]])
        logger.debug("not shown at info")
        #expect(lines.all.count == 1)
        let line = try #require(lines.all.first)
        #expect(line.hasSuffix("}\n"))
        #expect(line.dropLast().contains("\n") == false)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["level"] as? String == "info")
        #expect(object["message"] as? String == "ports \"file\" loaded\n")
        #expect(object["logger"] as? String == "keyport")
        #expect(object["records"] as? String == "1632")
        #expect(object["component"] as? String == "test")
        #expect(object["meta_level"] as? String == "clash")
        #expect((object["nested"] as? [String: String]) == ["a": "b"])
        let time = try #require(object["time"] as? String)
        #expect(time.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/) != nil)
    }

    @Test func theLevelComesFromTheConfiguration() throws {
        let lines = Lines()
        var configuration = Configuration()
        configuration.logLevel = .warning
        let factory = configuration.makeLogHandlerFactory(sink: lines.sink)
        let logger = Logger(label: "keyport", factory: factory)
        logger.info("dropped")
        logger.notice("dropped too")
        logger.warning("kept")
        logger.error("kept too")
        #expect(lines.all.count == 2)
    }

    @Test func controlCharactersAreEscaped() throws {
        let bytes = JSONLogHandler.line(
            time: WallClock.Instant(seconds: 0, nanoseconds: 5_000_000), level: .error, message: "a\u{1}b\tc",
            label: "x", metadata: [:], source: "s")
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text == #"{"time":"1970-01-01T00:00:00.005Z","level":"error","message":"a\u0001b\tc","logger":"x"}"# + "\n")
    }
}
