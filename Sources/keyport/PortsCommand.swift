import ArgumentParser

/// `keyport ports ...`: work on ports files without serving them.
struct PortsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ports", abstract: "Check and download ports files before they are served.",
        subcommands: [PortsValidate.self, PortsFetch.self])
}
