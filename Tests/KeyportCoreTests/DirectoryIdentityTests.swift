import Foundation
@testable import KeyportCore
import Testing

/// `reload-on-change` sees a ConfigMap volume update: the kubelet writes a new `..<version>` directory
/// and swaps the `..data` symlink, leaving the visible names (`name -> ..data/name`) untouched.
@Suite struct DirectoryIdentityTests {
    /// A ConfigMap volume as the kubelet lays it out, in a fresh temporary directory.
    final class ProjectedVolume {
        let path: String
        private var version = 0

        init() throws {
            path = FileManager.default.temporaryDirectory.appendingPathComponent("keyport-projected-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        }

        deinit { try? FileManager.default.removeItem(atPath: path) }

        func write(_ files: [String: String]) throws {
            version += 1
            let versionDir = "..2026_12_03_\(version)"
            try FileManager.default.createDirectory(atPath: "\(path)/\(versionDir)", withIntermediateDirectories: false)
            for (name, text) in files {
                try text.write(toFile: "\(path)/\(versionDir)/\(name)", atomically: false, encoding: .utf8)
            }
            try FileManager.default.createSymbolicLink(atPath: "\(path)/..data_tmp", withDestinationPath: versionDir)
            #expect(rename("\(path)/..data_tmp", "\(path)/..data") == 0)
            for name in files.keys where (try? FileManager.default.destinationOfSymbolicLink(atPath: "\(path)/\(name)")) == nil {
                try FileManager.default.createSymbolicLink(atPath: "\(path)/\(name)", withDestinationPath: "..data/\(name)")
            }
        }
    }

    @Test func aSymlinkSwapIsAChangeAndNothingElseIs() throws {
        let volume = try ProjectedVolume()
        try volume.write(["prometheus.yml": "a", "rules.yaml": "b"])
        let first = DirectoryIdentity.of(volume.path)
        #expect(Set(first.entries.keys) == ["prometheus.yml", "rules.yaml"])  // no ..data, no ..<version>
        #expect(first.entries.values.allSatisfy { $0 != nil })
        #expect(DirectoryIdentity.of(volume.path) == first)

        // Same content, new version directory: a new inode behind the unchanged symlink.
        try volume.write(["prometheus.yml": "a", "rules.yaml": "b"])
        let second = DirectoryIdentity.of(volume.path)
        #expect(second != first)
        #expect(second.entries["prometheus.yml"]??.inode != first.entries["prometheus.yml"]??.inode)

        // Hidden files are the volume's bookkeeping, not configuration.
        try "x".write(toFile: "\(volume.path)/..unrelated", atomically: false, encoding: .utf8)
        #expect(DirectoryIdentity.of(volume.path) == second)
    }

    @Test func aMissingDirectoryIsEmptyAndItsAppearanceIsAChange() throws {
        let volume = try ProjectedVolume()
        let missing = DirectoryIdentity.of(volume.path + "/absent")
        #expect(missing.entries.isEmpty)
        try FileManager.default.createDirectory(atPath: volume.path + "/absent", withIntermediateDirectories: false)
        try "x".write(toFile: volume.path + "/absent/config.yml", atomically: false, encoding: .utf8)
        #expect(DirectoryIdentity.of(volume.path + "/absent") != missing)
    }

    @Test func aDanglingEntryIsSeenAsUnreadable() throws {
        let volume = try ProjectedVolume()
        try FileManager.default.createSymbolicLink(atPath: "\(volume.path)/gone.yml", withDestinationPath: "..data/gone.yml")
        let identity = DirectoryIdentity.of(volume.path)
        #expect(identity.entries.keys.contains("gone.yml"))
        #expect(identity.entries["gone.yml"] == .some(nil))
    }
}
