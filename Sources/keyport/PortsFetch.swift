import ArgumentParser
import KeyportCore
import KeyportPorts

/// `keyport ports fetch URL --sha256 HEX --output PATH`: what the chart's `ports.fetch` init container runs.
struct PortsFetch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fetch",
        abstract: "Download a ports file, check its SHA-256 and parse it as it arrives; rename it into place only when both hold.",
        discussion: """
            The body goes to a temporary file beside --output, through SHA-256 and through the server's \
            parser in one pass; gzip (recognised by its magic bytes) is inflated for the parser and kept \
            compressed on disk. --output is replaced (atomically) only when the answer is 2xx, the body \
            complete, the digest right and the file valid; on any failure it is left as it was, no \
            temporary file remains, one line goes to standard error and the exit status is 1 (64 for bad \
            arguments). The digest covers the bytes as served, so `sha256sum ports.json.gz` gives it.

            Example: keyport ports fetch https://data.example.com/ports.json.gz \
            --sha256 3f5e...c1 --output /data/ports.json.gz --max-bytes 512Mi --timeout 5m
            """)

    @Argument(help: "http(s)://HOST[:PORT]/PATH of the ports file (JSON, or gzip-compressed JSON); redirects are followed, up to 5.")
    var url: String

    @Option(help: ArgumentHelp("SHA-256 of the file as served: 64 hex digits, as `sha256sum FILE` prints them.", valueName: "hex"))
    var sha256: String

    @Option(help: ArgumentHelp("Where the file goes; its directory must exist and be writable (the temporary file is made there).", valueName: "path"))
    var output: String

    @Option(name: .customLong("max-bytes"), help: ArgumentHelp(
        "Refuse a body larger than this, as served (compressed bytes for gzip): a byte count such as 500000000, 512Mi or 2Gi.",
        valueName: "size"))
    var maxBytes: String = PortsFetchOptions.defaultMaxBytes

    @Option(help: ArgumentHelp("One deadline for the whole download (connect, answer and body), e.g. 90s, 5m or 1h.", valueName: "duration"))
    var timeout: String = PortsFetchOptions.defaultTimeout

    @Option(name: .customLong("ca-file"), help: ArgumentHelp("https: trust the server certificate only when this PEM CA signed it.", valueName: "pem"))
    var caFile: String?

    @Flag(help: "https: do not verify the server certificate (still encrypted).")
    var insecure = false

    func run() async throws {
        let options: PortsFetchOptions
        do throws(PortsFetchOptions.UsageError) {
            options = try PortsFetchOptions(
                url: url, sha256: sha256, output: output, maxBytes: maxBytes, timeout: timeout, caFile: caFile, insecure: insecure)
        } catch {
            FileOutput.standardError("keyport ports fetch: \(error)\n")
            throw ExitCode(64)
        }
        let started = ContinuousClock.now
        let url = self.url
        do throws(PortsDownload.Failure) {
            let outcome = try await PortsDownload(options: options).run { length in
                ProgressLine(prefix: "keyport ports fetch: \(url): ", totalInputBytes: length)
            }
            let seconds = started.duration(to: .now).seconds
            let stats = outcome.statistics
            let uncompressed = stats.bytesRead != outcome.bytes ? " (\(stats.bytesRead) uncompressed)" : ""
            print("\(options.output): \(outcome.bytes) bytes\(uncompressed), \(stats.records) records kept, "
                + "sha256 \(outcome.sha256) ok, \(Double(Int(seconds * 100)) / 100)s")
        } catch {
            FileOutput.standardError("keyport ports fetch: \(url): \(error)\n")
            throw ExitCode(1)
        }
    }
}
