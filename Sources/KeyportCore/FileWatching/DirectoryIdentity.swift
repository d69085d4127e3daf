import SystemLibC

/// What identifies one version of a directory's contents: the `FileIdentity` of every visible entry
/// (symlinks followed). A Kubernetes ConfigMap or Secret volume update swaps its `..data` symlink, so
/// every file seen through it gets a new inode; entries starting with a dot are the volume's own
/// bookkeeping and are left out.
struct DirectoryIdentity: Equatable, Sendable {
    var entries: [String: FileIdentity?]

    /// An empty snapshot when the directory cannot be read (a missing directory that appears is a change).
    static func of(_ directory: String) -> DirectoryIdentity {
        var entries: [String: FileIdentity?] = [:]
        guard let stream = opendir(directory) else { return DirectoryIdentity(entries: entries) }
        defer { closedir(stream) }
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            guard !name.hasPrefix(".") else { continue }
            entries[name] = FileIdentity.of(directory + "/" + name)
        }
        return DirectoryIdentity(entries: entries)
    }
}
