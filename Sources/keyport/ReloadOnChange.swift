import ArgumentParser
import KeyportCore
import Logging

/// `keyport reload-on-change`: the chart's sidecar that makes Prometheus and Alertmanager reload a
/// ConfigMap or Secret update in place (no restart, no history lost), with the image already on the node.
struct ReloadOnChange: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reload-on-change",
        abstract: "POST a reload URL whenever a watched directory's files change (a ConfigMap or Secret update).")

    @Option(name: .customLong("watch"), help: "Directory to watch (repeat for several), e.g. /etc/prometheus/rules.")
    var directories: [String] = []

    @Option(help: "URL to POST on a change, e.g. http://127.0.0.1:9090/-/reload.")
    var url: String

    @Option(help: "How often the directories are checked, e.g. 5s.")
    var interval: String = "5s"

    @Option(help: "Give up on one reload request after this long.")
    var timeout: String = "30s"

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"

    func validate() throws {
        guard !directories.isEmpty else { throw ValidationError("at least one --watch DIR is required") }
        guard (try? HealthCheck.parse(url)) != nil else {
            throw ValidationError("invalid value \"\(url)\" for --url: expected http(s)://HOST[:PORT]/PATH")
        }
        guard let interval = Duration.parse(interval), interval > .zero else {
            throw ValidationError("invalid value \"\(interval)\" for --interval: expected a duration such as 5s")
        }
        guard let timeout = Duration.parse(timeout), timeout > .zero else {
            throw ValidationError("invalid value \"\(timeout)\" for --timeout: expected a duration such as 30s")
        }
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("invalid value \"\(logLevel)\" for --log-level")
        }
    }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { JSONLogHandler(label: $0, level: level) }
        let logger = Logger(label: "keyport.reload-on-change")
        let reloader = ConfigReloader(
            directories: directories, url: url, pollInterval: Duration.parse(interval) ?? .seconds(5),
            timeout: Duration.parse(timeout) ?? .seconds(30), logger: logger)
        try await reloader.runUntilTerminated()
    }
}
