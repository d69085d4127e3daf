#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Files that ship with keyport (the sample ports file, the OpenAPI description): beside the executable
/// in SwiftPM's resource bundle (`swift run`, `make run`), or under /usr/share/keyport (container images).
public enum BundledFiles {
    public static let samplePorts = "sample-ports.json"
    public static let openAPI = "openapi.yaml"
    public static let installedDirectory = "/usr/share/keyport"

    /// The first readable copy of `name`, else where an installed copy would be (for the error message).
    public static func path(of name: String) -> String {
        let candidates = [executableDirectory().map { $0 + "/keyport_KeyportCore.resources/" + name }, installedDirectory + "/" + name]
        for case let path? in candidates where access(path, R_OK) == 0 {
            return path
        }
        return installedDirectory + "/" + name
    }

    static func executableDirectory() -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard count > 0 else { return nil }
        let path = String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard let slash = path.lastIndex(of: "/") else { return nil }
        return String(path[..<slash])
    }
}
