import ArgumentParser
import KeyportCore

@main
struct KeyportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keyport",
        abstract: "Random keys and UN/LOCODE port data over HTTP, with Prometheus metrics.",
        version: BuildInfo.releaseVersion,
        subcommands: [Serve.self, Check.self, PortsCommand.self, ReloadOnChange.self, Flags.self],
        defaultSubcommand: Serve.self)
}
