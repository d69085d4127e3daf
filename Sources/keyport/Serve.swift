import ArgumentParser
import KeyportCore
import Logging
import NIOPosix

/// Serves HTTP until SIGTERM or SIGINT.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the server (the default).")

    @OptionGroup var options: ServeOptions

    func run() async throws {
        let configuration: Configuration
        do {
            configuration = try Configuration(flags: options.flags, environment: ProcessEnvironment.all)
        } catch {
            // One line naming the flag and what it accepts, then a usage exit code, before anything binds.
            FileOutput.standardError("keyport: \(error)\n")
            throw ExitCode(64)
        }
        LoggingSystem.bootstrap(configuration.makeLogHandlerFactory())
        let logger = Logger(label: "keyport")
        let application = KeyportApplication(configuration: configuration, logger: logger)
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
