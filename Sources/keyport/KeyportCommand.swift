import ArgumentParser
import KeyportCore
import Logging
import NIOPosix

@main
struct KeyportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keyport",
        abstract: "Random keys and UN/LOCODE port data over HTTP, with Prometheus metrics.",
        version: BuildInfo.releaseVersion,
        subcommands: [Serve.self, Check.self],
        defaultSubcommand: Serve.self)
}

/// Serves HTTP until SIGTERM or SIGINT.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the server (the default).")

    @OptionGroup var options: ServeOptions

    func run() async throws {
        let configuration: Configuration
        do {
            configuration = try Configuration(options: options, environment: ProcessEnvironment.all)
        } catch {
            // One line naming the flag and what it accepts, then a usage exit code, before anything binds.
            FileOutput.standardError("keyport: \(error)\n")
            throw ExitCode(64)
        }
        var tls: TLSMaterial?
        if let files = configuration.tls {
            do {
                tls = try TLSMaterial.load(files, now: Int(WallClock.now().secondsSinceEpoch))
            } catch {
                // Missing, unreadable, mismatched or expired: one line naming the flag, before anything binds.
                FileOutput.standardError("keyport: \(error)\n")
                throw ExitCode(64)
            }
        }
        LoggingSystem.bootstrap(configuration.makeLogHandlerFactory())
        let logger = Logger(label: "keyport")
        let application = KeyportApplication(configuration: configuration, logger: logger, tls: tls)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: KeyportApplication.eventLoopThreadCount)
        defer { group.shutdownGracefully { _ in } }
        do {
            try await application.run(group: group)
        } catch {
            logger.critical("server stopped with an error", metadata: ["error": "\(error)"])
            throw ExitCode(1)
        }
    }
}

/// `keyport check URL`: for container HEALTHCHECKs and `helm test` without curl.
struct Check: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "GET a URL; exit 0 when it answers 2xx.")

    @Argument(help: "http(s)://HOST[:PORT]/PATH, e.g. http://127.0.0.1:1123/ready")
    var url: String

    @Option(name: .customLong("ca-file"), help: "https: trust the server certificate only when this PEM CA signed it.")
    var caFile: String?

    @Flag(help: "https: do not verify the server certificate (still encrypted).")
    var insecure = false

    @Option(help: "Give up after this long, e.g. 2s or 500ms.")
    var timeout: String = "2s"

    func run() async throws {
        guard let timeout = Duration.parse(timeout), timeout > .zero else {
            FileOutput.standardError("keyport check: invalid value \"\(self.timeout)\" for --timeout: expected a duration such as 2s or 500ms\n")
            throw ExitCode(64)
        }
        do {
            let status = try await HealthCheck.run(
                url: url, timeout: timeout, tls: HealthCheck.TLSOptions(caFile: caFile, insecure: insecure))
            print("\(url): \(status)")
        } catch {
            FileOutput.standardError("keyport check: \(url): \(error)\n")
            throw ExitCode(1)
        }
    }
}

enum FileOutput {
    static func standardError(_ text: String) {
        LogSink.standardError.write(Array(text.utf8))
    }
}
