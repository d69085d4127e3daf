import ArgumentParser
import KeyportCore

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

    @Option(name: .customLong("expect-status"), help: "Exit 0 only on this status instead of any 2xx, e.g. 404 to check that a listener does not serve a path.")
    var expectStatus: UInt?

    func run() async throws {
        guard let timeout = Duration.parse(timeout), timeout > .zero else {
            FileOutput.standardError("keyport check: invalid value \"\(self.timeout)\" for --timeout: expected a duration such as 2s or 500ms\n")
            throw ExitCode(64)
        }
        do {
            let status = try await HealthCheck.run(
                url: url, timeout: timeout, tls: HealthCheck.TLSOptions(caFile: caFile, insecure: insecure))
            if let expectStatus, status != expectStatus {
                FileOutput.standardError("keyport check: \(url): answered HTTP \(status), expected \(expectStatus)\n")
                throw ExitCode(1)
            }
            print("\(url): \(status)")
        } catch HealthCheck.Failure.status(let status) where status == expectStatus {
            print("\(url): \(status)")
        } catch let exit as ExitCode {
            throw exit
        } catch {
            FileOutput.standardError("keyport check: \(url): \(error)\n")
            throw ExitCode(1)
        }
    }
}
