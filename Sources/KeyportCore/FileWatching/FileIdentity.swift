import SystemLibC

/// What identifies one version of a file: device, inode, size and mtime. `stat` follows symlinks, so a
/// Kubernetes ConfigMap or Secret's `..data` symlink swap shows up as a new inode.
struct FileIdentity: Equatable, Sendable {
    var device: UInt64
    var inode: UInt64
    var size: Int64
    var modified: Int64
    var modifiedNanoseconds: Int64

    /// `nil` when the file cannot be stat'ed.
    static func of(_ path: String) -> FileIdentity? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return FileIdentity(
            device: UInt64(info.st_dev), inode: UInt64(info.st_ino), size: Int64(info.st_size),
            modified: Int64(info.st_mtim.tv_sec), modifiedNanoseconds: Int64(info.st_mtim.tv_nsec))
    }

    /// Polls `paths` every `interval` and calls `changed` when any of them looks different; runs until cancelled.
    static func watch(
        _ paths: [String], every interval: Duration, since initial: [FileIdentity?], changed: () async -> Void
    ) async throws {
        var lastSeen = initial
        while true {
            try await Task.sleep(for: interval)
            let identities = paths.map(FileIdentity.of)
            if identities != lastSeen {
                lastSeen = identities
                await changed()
            }
        }
    }

    /// Waits until `paths` have looked the same (path, inode, size, mtime) for `quietFor`, and returns how they
    /// look then. Bounded to `rounds` waits, so a file rewritten forever is still loaded (and a load that then
    /// fails while it changes is retried, not counted).
    static func settle(_ paths: [String], quietFor: Duration, rounds: Int = 10) async -> [FileIdentity?] {
        var seen = paths.map(FileIdentity.of)
        guard quietFor > .zero else { return seen }
        for _ in 0..<rounds {
            do { try await Task.sleep(for: quietFor) } catch { return seen }
            let now = paths.map(FileIdentity.of)
            if now == seen { return now }
            seen = now
        }
        return seen
    }
}
