import KeyportPorts

/// `keyport ports fetch`'s arguments, checked before anything is downloaded: a bad one is one line naming the
/// flag, the value and what is accepted (exit 64).
public struct PortsFetchOptions: Sendable, Equatable {
    public var url: String
    /// The expected SHA-256 of the bytes as served, 64 lowercase hex digits.
    public var sha256: String
    public var output: String
    /// Most bytes accepted from the server (as served: compressed bytes for a gzip file).
    public var maxBytes: Int
    /// One deadline for the whole download: connecting, the answer and the last byte of the body.
    public var timeout: Duration
    public var caFile: String?
    public var insecure: Bool

    /// Defaults of `--max-bytes` and `--timeout`, as typed on the command line.
    public static let defaultMaxBytes = "2Gi"
    public static let defaultTimeout = "5m"

    /// A usage error: `invalid value "x" for --flag: expected ...`.
    public struct UsageError: Error, Equatable, CustomStringConvertible {
        public var flag: String
        public var value: String
        public var accepted: String

        public var description: String { "invalid value \"\(value)\" for \(flag): expected \(accepted)" }
    }

    public init(
        url: String, sha256: String, output: String, maxBytes: String = defaultMaxBytes,
        timeout: String = defaultTimeout, caFile: String? = nil, insecure: Bool = false
    ) throws(UsageError) {
        do throws(HealthCheck.Failure) {
            _ = try HealthCheck.parse(url)
        } catch {
            throw UsageError(flag: "URL", value: url, accepted: "an http:// or https:// URL such as https://example.com/ports.json.gz")
        }
        guard let digest = Self.parseSHA256(sha256) else {
            throw UsageError(flag: "--sha256", value: sha256, accepted: "64 hex digits, as `sha256sum FILE` prints them")
        }
        guard !output.isEmpty, !output.hasSuffix("/") else {
            throw UsageError(flag: "--output", value: output, accepted: "the path of the file to write, e.g. /data/ports.json.gz")
        }
        guard let bytes = Self.parseByteCount(maxBytes), bytes > 0 else {
            throw UsageError(flag: "--max-bytes", value: maxBytes, accepted: "a positive byte count such as 500000000, 512Mi or 2Gi")
        }
        guard let deadline = Duration.parse(timeout), deadline > .zero else {
            throw UsageError(flag: "--timeout", value: timeout, accepted: "a duration such as 90s, 5m or 1h")
        }
        if insecure, let caFile {
            throw UsageError(flag: "--insecure", value: "true", accepted: "either --insecure or --ca-file \(caFile), not both")
        }
        self.url = url
        self.sha256 = digest
        self.output = output
        self.maxBytes = bytes
        self.timeout = deadline
        self.caFile = caFile
        self.insecure = insecure
    }

    /// 64 hex digits of either case, returned in lowercase; nil for anything else.
    public static func parseSHA256(_ text: String) -> String? {
        let bytes = Array(text.utf8)
        guard bytes.count == 64, bytes.allSatisfy({ ASCIIHex.value(of: $0) != nil }) else { return nil }
        return text.lowercased()
    }

    /// A byte count: digits with an optional Kubernetes quantity suffix, `k`/`M`/`G` (powers of 1000) or
    /// `Ki`/`Mi`/`Gi` (powers of 1024), as chart values spell sizes.
    public static func parseByteCount(_ text: String) -> Int? {
        let digits = text.prefix(while: { $0.isASCII && $0.isNumber })
        let multipliers: [Substring: Int] = [
            "": 1, "k": 1000, "M": 1_000_000, "G": 1_000_000_000, "Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30,
        ]
        guard !digits.isEmpty, digits.count <= 15, let number = Int(digits),
            let multiplier = multipliers[text[digits.endIndex...]]
        else { return nil }
        let (product, overflow) = number.multipliedReportingOverflow(by: multiplier)
        return overflow ? nil : product
    }
}
