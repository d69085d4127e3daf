@testable import KeyportCore
import Logging
import Testing

@Suite struct ConfigurationTests {
    func configuration(_ arguments: [String], environment: [String: String] = [:]) throws -> Configuration {
        try Configuration(arguments: arguments, environment: environment)
    }

    @Test func defaultsAreTheDocumentedOnes() throws {
        let configuration = try configuration([])
        #expect(configuration.port == 1123)
        #expect(configuration.host == "::")
        #expect(configuration.adminPort == 9123)
        #expect(configuration.resolvedAdminHost == "::")
        #expect(configuration.maxKeySize == 1024)
        #expect(configuration.portsFile == nil)
        #expect(configuration.logLevel == .info)
        #expect(configuration.logFormat == .json)
        #expect(configuration.shutdownDelay == .zero)
        #expect(configuration.faultInjectionEnabled == false)
    }

    @Test func flagsAreParsed() throws {
        let configuration = try configuration([
            "--srv-port", "8080", "--host", "127.0.0.1", "--max-size", "2048", "--ports-file", "/data/p.json",
            "--log-level", "debug", "--log-format", "text", "--shutdown-delay", "1m30s", "--enable-fault-injection",
        ])
        #expect(configuration.port == 8080)
        #expect(configuration.host == "127.0.0.1")
        #expect(configuration.maxKeySize == 2048)
        #expect(configuration.portsFile == "/data/p.json")
        #expect(configuration.logLevel == .debug)
        #expect(configuration.logFormat == .text)
        #expect(configuration.shutdownDelay == .seconds(90))
        #expect(configuration.faultInjectionEnabled)
    }

    @Test func environmentIsUsedWhenNoFlagIsGiven() throws {
        let configuration = try configuration([], environment: [
            "KEYPORT_SRV_PORT": "9000", "KEYPORT_HOST": "::1", "KEYPORT_MAX_SIZE": "64",
            "KEYPORT_PORTS_FILE": "/x.json", "KEYPORT_LOG_LEVEL": "WARNING", "KEYPORT_LOG_FORMAT": "text",
            "KEYPORT_SHUTDOWN_DELAY": "500ms", "KEYPORT_ENABLE_FAULT_INJECTION": "true",
        ])
        #expect(configuration.port == 9000)
        #expect(configuration.host == "::1")
        #expect(configuration.maxKeySize == 64)
        #expect(configuration.portsFile == "/x.json")
        #expect(configuration.logLevel == .warning)
        #expect(configuration.logFormat == .text)
        #expect(configuration.shutdownDelay == .milliseconds(500))
        #expect(configuration.faultInjectionEnabled)
    }

    @Test func aFlagWinsOverTheEnvironment() throws {
        let configuration = try configuration(
            ["--srv-port", "7000", "--max-size", "10"],
            environment: ["KEYPORT_SRV_PORT": "9000", "KEYPORT_MAX_SIZE": "not-even-checked"])
        #expect(configuration.port == 7000)
        #expect(configuration.maxKeySize == 10)
    }

    @Test func portsPollIntervalAndSettleTimeComeFromFlagsOrEnvironment() throws {
        let defaults = try configuration([])
        #expect(defaults.portsPollInterval == .seconds(10))
        #expect(defaults.portsSettleTime == .seconds(2))
        let flagged = try configuration(["--ports-poll-interval", "1m", "--ports-settle-time=0s"])
        #expect(flagged.portsPollInterval == .seconds(60))
        #expect(flagged.portsSettleTime == .zero)
        let fromEnvironment = try configuration([], environment: [
            "KEYPORT_PORTS_POLL_INTERVAL": "500ms", "KEYPORT_PORTS_SETTLE_TIME": "1m30s",
        ])
        #expect(fromEnvironment.portsPollInterval == .milliseconds(500))
        #expect(fromEnvironment.portsSettleTime == .seconds(90))
    }

    @Test func faultInjectionFromTheEnvironmentCanBeOff() throws {
        #expect(try configuration([], environment: ["KEYPORT_ENABLE_FAULT_INJECTION": "false"]).faultInjectionEnabled == false)
        #expect(throws: ConfigurationError.self) {
            try configuration([], environment: ["KEYPORT_ENABLE_FAULT_INJECTION": "maybe"])
        }
    }

    @Test(arguments: [
        ("--max-size", "0", "1...1048576"),
        ("--max-size", "1048577", "1...1048576"),
        ("--max-size", "12kb", "1...1048576"),
        ("--srv-port", "70000", "0...65535"),
        ("--srv-port", "-1", "0...65535"),
        ("--admin-port", "65536", "0...65535"),
        ("--admin-port", "-1", "0...65535"),
        ("--admin-port", "metrics", "0...65535"),
        ("--admin-host", "", "an IPv4/IPv6 address or host name"),
        ("--admin-host", "a b", "an IPv4/IPv6 address or host name"),
        ("--log-level", "verbose", "trace, debug, info, notice, warning, error, critical"),
        ("--log-format", "xml", "json or text"),
        ("--shutdown-delay", "5", "0s to 1h"),
        ("--shutdown-delay", "2h", "0s to 1h"),
        ("--ports-poll-interval", "50ms", "100ms to 1h"),
        ("--ports-poll-interval", "10", "100ms to 1h"),
        ("--ports-settle-time", "11m", "0s to 10m"),
        ("--ports-settle-time", "-1s", "0s to 10m"),
    ])
    func badValuesNameTheFlagAndTheAcceptedRange(flag: String, value: String, accepted: String) throws {
        let error = try #require(throws: ConfigurationError.self) { try configuration([flag + "=" + value]) }
        #expect(error.flag == flag)
        #expect(error.description.contains(flag))
        #expect(error.description.contains(accepted))
        #expect(error.description.contains("\"\(value)\""))
        #expect(!error.description.contains("\n"))
    }

    @Test func everyFlagIsParsedByTheCodeTheExecutableUses() throws {
        // `--flag value`, `--flag=value`, a switch alone and a switch with a value.
        #expect(try configuration(["--srv-port=8081"]).port == 8081)
        #expect(try configuration(["--enable-fault-injection=false"]).faultInjectionEnabled == false)
        #expect(try configuration(["--enable-fault-injection", "--srv-port", "1"]).faultInjectionEnabled)
        // The last of a repeated flag wins, as in most command-line parsers.
        #expect(try configuration(["--max-size", "1", "--max-size", "2"]).maxKeySize == 2)
    }

    @Test(arguments: [["--srv-prot", "80"], ["srv-port"], ["-p", "80"], ["--help-me"]])
    func unknownFlagsAreRefusedNotIgnored(arguments: [String]) throws {
        let error = try #require(throws: ConfigurationError.self) { try configuration(arguments) }
        #expect(error.description.contains("keyport serve --help"))
        #expect(!error.description.contains("\n"))
    }

    @Test func aFlagWithoutItsValueIsRefused() throws {
        let error = try #require(throws: ConfigurationError.self) { try configuration(["--max-size"]) }
        #expect(error.flag == "--max-size")
        #expect(error.accepted == "a value after the flag")
    }

    @Test func helpAndTheREADMETableListEveryDeclaredFlag() {
        let names = ServerFlag.all.map(\.name)
        #expect(Set(names).count == names.count, "a flag declared twice")
        for flag in ServerFlag.all {
            #expect(ServerFlag.helpText.contains(flag.name))
            #expect(ServerFlag.helpText.contains(flag.environmentName))
            #expect(ServerFlag.markdownTable.contains("| `\(flag.name)` | `\(flag.environmentName)` |"))
        }
        #expect(ServerFlag.helpText.contains("--max-size BYTES"))
        #expect(ServerFlag.helpText.contains("  --enable-fault-injection\n"))
    }

    @Test func theAdminListenerComesFromFlagsAndEnvironment() throws {
        let flags = try configuration(["--admin-port", "9200", "--admin-host", "127.0.0.1", "--host", "10.0.0.1"])
        #expect(flags.adminPort == 9200)
        #expect(flags.resolvedAdminHost == "127.0.0.1")
        #expect(flags.host == "10.0.0.1")
        let environment = try configuration([], environment: ["KEYPORT_ADMIN_PORT": "0", "KEYPORT_ADMIN_HOST": "::1"])
        #expect(environment.adminPort == 0)
        #expect(environment.resolvedAdminHost == "::1")
        // Without --admin-host, the admin listener binds where the service listener does.
        #expect(try configuration(["--host", "127.0.0.1"]).resolvedAdminHost == "127.0.0.1")
        #expect(try configuration(["--admin-port", "9200"], environment: ["KEYPORT_ADMIN_PORT": "9300"]).adminPort == 9200)
    }

    @Test(arguments: [
        (["--srv-port", "9123"], [String: String]()), (["--admin-port", "1123"], [:]),
        (["--srv-port", "8000", "--admin-port", "8000"], [:]), ([], ["KEYPORT_SRV_PORT": "7000", "KEYPORT_ADMIN_PORT": "7000"]),
    ])
    func theSamePortForBothListenersIsRefusedNamingBothFlags(arguments: [String], environment: [String: String]) throws {
        let error = try #require(throws: ConfigurationError.self) { try configuration(arguments, environment: environment) }
        #expect(error.flag == "--admin-port")
        #expect(error.description.contains("--srv-port"))
        #expect(error.description.contains("--admin-port"))
        #expect(!error.description.contains("\n"))
    }

    @Test func portZeroForBothListenersPicksTwoFreePorts() throws {
        let configuration = try configuration(["--srv-port", "0", "--admin-port", "0"])
        #expect(configuration.port == 0)
        #expect(configuration.adminPort == 0)
    }

    @Test func anEmptyHostIsRejected() throws {
        let error = try #require(throws: ConfigurationError.self) { try configuration([], environment: ["KEYPORT_HOST": ""]) }
        #expect(error.flag == "--host")
    }

    @Test func badEnvironmentValuesNameTheVariable() throws {
        let error = try #require(throws: ConfigurationError.self) {
            try configuration([], environment: ["KEYPORT_MAX_SIZE": "huge"])
        }
        #expect(error.description.contains("KEYPORT_MAX_SIZE"))
        #expect(error.description.contains("\"huge\""))
    }

    @Test func environmentNames() {
        #expect(Configuration.environmentName(of: "--srv-port") == "KEYPORT_SRV_PORT")
        #expect(Configuration.environmentName(of: "--enable-fault-injection") == "KEYPORT_ENABLE_FAULT_INJECTION")
    }

    @Test(arguments: [
        ("0", Duration.zero), ("0s", .zero), ("5s", .seconds(5)), ("500ms", .milliseconds(500)),
        ("2m", .seconds(120)), ("1h", .seconds(3600)), ("1m30s", .seconds(90)),
    ])
    func durationsParse(text: String, expected: Duration) {
        #expect(Duration.parse(text) == expected)
    }

    @Test(arguments: ["", "5", "s", "5x", "-5s", "1.5s", "5 s", "ms"])
    func badDurationsAreRejected(text: String) {
        #expect(Duration.parse(text) == nil)
    }
}
