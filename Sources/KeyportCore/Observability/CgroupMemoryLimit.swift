/// The memory limit of the cgroup this process runs in (v2 `memory.max`, v1 `memory.limit_in_bytes`),
/// the smallest one on the way up to the root; `nil` when nothing limits it.
public enum CgroupMemoryLimit {
    /// Values at or above this are v1's way of saying "unlimited".
    static let unlimitedThreshold = 1 << 62

    public static func read(
        procSelfCgroup: String = "/proc/self/cgroup", cgroupRoot: String = "/sys/fs/cgroup"
    ) -> Int? {
        guard let membership = SmallFile.read(procSelfCgroup) else { return nil }
        var limits: [Int] = []
        for line in membership.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3 else { continue }
            let path = String(parts[2])
            if parts[0] == "0" && parts[1].isEmpty {
                limits += limitsUpward(from: cgroupRoot, path: path, file: "memory.max")
            } else if parts[1].split(separator: ",").contains("memory") {
                limits += limitsUpward(from: cgroupRoot + "/memory", path: path, file: "memory.limit_in_bytes")
            }
        }
        return limits.filter { $0 > 0 && $0 < unlimitedThreshold }.min()
    }

    /// Reads `file` in the process's cgroup directory and each parent up to the mount root. Inside a
    /// container the cgroup namespace makes the path `/`, so the mount root itself is the container's group.
    private static func limitsUpward(from mount: String, path: String, file: String) -> [Int] {
        var components = path.split(separator: "/").map(String.init)
        var limits: [Int] = []
        while true {
            let directory = components.isEmpty ? mount : mount + "/" + components.joined(separator: "/")
            if let text = SmallFile.read(directory + "/" + file) {
                let value = text.trimmingSpaces()
                if value != "max", let bytes = Int(value) { limits.append(bytes) }
            }
            if components.isEmpty { break }
            components.removeLast()
        }
        return limits
    }
}

extension String {
    func trimmingSpaces() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[first...last])
    }
}
