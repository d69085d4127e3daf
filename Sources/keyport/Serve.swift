import ArgumentParser
import KeyportCore
import Logging
import NIOPosix

/// Serves HTTP until SIGTERM or SIGINT.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the server (the default).",
        discussion: "Every flag has an environment twin; a flag wins over it.\n\n" + ServerFlag.helpText)

    // The flags are declared once, in `ServerFlag.all`, and parsed by `Configuration`: argument-parser
    // declares each option as a property and cannot build them from that table, so it hands them over whole.
    @Argument(parsing: .allUnrecognized, help: .hidden)
    var arguments: [String] = []

    func run() async throws {
        let configuration: Configuration
        do {
            configuration = try Configuration(arguments: arguments, environment: ProcessEnvironment.all)
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
        } catch let error as ListenerBindError {
            // A port in use or not permitted: one line naming the flag and a usage exit code, nothing left listening.
            FileOutput.standardError("keyport: \(error)\n")
            throw ExitCode(64)
        } catch {
            logger.critical("server stopped with an error", metadata: ["error": "\(error)"])
            throw ExitCode(1)
        }
    }
}
