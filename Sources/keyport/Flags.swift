import ArgumentParser
import KeyportCore

/// `keyport flags`: the README's flag table, printed from `ServerFlag.all` for `scripts/generate-flag-table.py`.
struct Flags: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the server's flags as a Markdown table.", shouldDisplay: false)

    func run() {
        print(ServerFlag.markdownTable)
    }
}
