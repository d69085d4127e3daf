import SystemLibC

/// Files that ship with keyport (the sample ports file, the OpenAPI description): in the source tree the
/// binary was built from (`swift run`, `make run`, tests), or under /usr/share/keyport (container images).
/// They are not SwiftPM resources: a target with resources gets a generated `Bundle.module` accessor,
/// which alone would link Foundation and ICU (about 40 MB of libraries, and resident memory) into the server.
public enum BundledFiles {
    public static let samplePorts = "sample-ports.json"
    public static let openAPI = "openapi.yaml"
    public static let installedDirectory = "/usr/share/keyport"
    /// `Sources/KeyportCore/Resources` of the checkout this binary was compiled from.
    static let sourceDirectory: String = {
        let file = "\(#filePath)"
        guard let slash = file.utf8.lastIndex(of: UInt8(ascii: "/")) else { return "Resources" }
        return String(file[..<slash]) + "/Resources"
    }()

    /// The first readable copy of `name`, else where an installed copy would be (for the error message).
    public static func path(of name: String) -> String {
        for path in [sourceDirectory + "/" + name, installedDirectory + "/" + name] where access(path, R_OK) == 0 {
            return path
        }
        return installedDirectory + "/" + name
    }
}
