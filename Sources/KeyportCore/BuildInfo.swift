/// The running build's identity, shown on `/version` and in `keyport_build_info`.
public struct BuildInfo: Sendable, Equatable {
    public var version: String
    public var revision: String

    /// The release version; bump it with the CHANGELOG, Chart.yaml's appVersion and openapi.yaml's info.version.
    public static let releaseVersion = "0.1.0"

    /// The revision comes from `KEYPORT_BUILD_REVISION`, set by the container build (`--build-arg REVISION=...`).
    public static let current = BuildInfo(
        version: releaseVersion,
        revision: ProcessEnvironment.value("KEYPORT_BUILD_REVISION").flatMap { $0.isEmpty ? nil : $0 } ?? "unknown")

    public static var swiftVersion: String {
        #if swift(>=6.3)
        "6.3"
        #elseif swift(>=6.2)
        "6.2"
        #elseif swift(>=6.1)
        "6.1"
        #else
        "6.0"
        #endif
    }
}
