/// One flag of `keyport serve`, declared once: the parser, `--help`, the environment fallback and the
/// README's flag table (`scripts/generate-docs.py`) all read this declaration, so a flag is written by
/// hand in one place (`ServerFlag.all`).
public struct ServerFlag: Sendable {
    /// `--srv-port`.
    public let name: String
    /// What the value looks like in usage (`PORT`); `nil` for a switch, which takes no value.
    public let placeholder: String?
    /// The default as a user reads it (`1123`, `the bundled sample`).
    public let defaultValue: String
    /// One line: what the flag does and what it accepts.
    public let summary: String
    /// A blank environment variable counts as unset (so the chart and compose can pass it through empty).
    let blankEnvironmentIsUnset: Bool
    /// Checks the text and stores it; a `Rejection` names what is accepted, and the caller names the flag.
    /// (Untyped: Swift 6.3 infers `throws(any Error)` for the table's trailing closures.)
    let apply: @Sendable (inout Configuration, String) throws -> Void

    /// A value that does not fit; `accepted` completes "expected ...".
    struct Rejection: Error {
        var accepted: String
    }

    init(
        _ name: String, _ placeholder: String?, default defaultValue: String, _ summary: String,
        blankEnvironmentIsUnset: Bool = false,
        apply: @escaping @Sendable (inout Configuration, String) throws -> Void
    ) {
        self.name = name
        self.placeholder = placeholder
        self.defaultValue = defaultValue
        self.summary = summary
        self.blankEnvironmentIsUnset = blankEnvironmentIsUnset
        self.apply = apply
    }

    /// `KEYPORT_SRV_PORT` for `--srv-port`.
    public var environmentName: String { Configuration.environmentName(of: name) }

    public var isSwitch: Bool { placeholder == nil }

    /// The declared flag called `name`, if any.
    public static func named(_ name: String) -> ServerFlag? {
        all.first { $0.name == name }
    }
}

extension ServerFlag {
    /// The values given on the command line, by flag name. `--flag value`, `--flag=value`, and a switch
    /// alone (`--enable-fault-injection`, meaning true). Anything else is refused, so a misspelt flag
    /// never passes silently.
    static func commandLine(_ arguments: [String]) throws(ConfigurationError) -> [String: String] {
        var values: [String: String] = [:]
        var rest = arguments[...]
        while let argument = rest.popFirst() {
            let name: Substring
            var value: String?
            if let equals = argument.firstIndex(of: "=") {
                name = argument[..<equals]
                value = String(argument[argument.index(after: equals)...])
            } else {
                name = Substring(argument)
            }
            guard name.hasPrefix("--"), let flag = named(String(name)) else {
                throw ConfigurationError(
                    flag: String(name), value: value ?? "", accepted: "one of the flags `keyport serve --help` lists")
            }
            if value == nil {
                if flag.isSwitch {
                    value = "true"
                } else if let next = rest.popFirst() {
                    value = next
                } else {
                    throw ConfigurationError(flag: flag.name, value: "", accepted: "a value after the flag")
                }
            }
            values[flag.name] = value
        }
        return values
    }

    /// `keyport serve --help`: each flag with its value, default and environment twin.
    public static var helpText: String {
        all.map { flag in
            let usage = flag.name + (flag.placeholder.map { " " + $0 } ?? "")
            // The README's Markdown code spans read as plain words on a terminal.
            let plain = { (text: String) in String(text.filter { $0 != "`" }) }
            return "  \(usage)\n      \(plain(flag.summary))\n      default: \(plain(flag.defaultValue)); env \(flag.environmentName)"
        }.joined(separator: "\n")
    }

    /// The README's flag table (Markdown), which `scripts/generate-docs.py` writes between its markers.
    public static var markdownTable: String {
        var lines = ["| flag | env | default | meaning |", "| --- | --- | --- | --- |"]
        for flag in all {
            lines.append("| `\(flag.name)` | `\(flag.environmentName)` | \(flag.defaultValue) | \(flag.summary) |")
        }
        return lines.joined(separator: "\n")
    }
}
