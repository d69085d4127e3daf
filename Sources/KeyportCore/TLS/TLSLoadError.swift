/// Why a certificate, key or client CA could not be served; `description` is the one line printed
/// before exiting at start-up, and the `error` of the log line when a rotation is refused.
public struct TLSLoadError: Error, Equatable, CustomStringConvertible {
    public var flag: String
    public var path: String
    public var problem: String

    public var description: String {
        "\(flag) \"\(path)\" (env \(Configuration.environmentName(of: flag))): \(problem)"
    }
}
