#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Where the bundled sample ports file is: beside the executable in SwiftPM's resource bundle
/// (`swift run`, `make run`), or installed under /usr/share/keyport (container images).
public enum SampleData {
    public static let fileName = "sample-ports.json"
    public static let installedPath = "/usr/share/keyport/" + fileName

    public static func portsFilePath() -> String {
        let candidates = [executableDirectory().map { $0 + "/keyport_KeyportCore.resources/" + fileName }, installedPath]
        for case let path? in candidates where access(path, R_OK) == 0 {
            return path
        }
        return installedPath
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
