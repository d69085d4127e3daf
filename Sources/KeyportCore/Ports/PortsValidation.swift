import CKeyportShims
import KeyportPorts

import SystemLibC

/// `keyport ports validate`: the server's own loader run on a file without serving it, measuring what the
/// data costs in memory on this machine so a pod can be sized from it.
public struct PortsValidation: Sendable {
    public var statistics: PortsLoadStatistics
    /// Bytes read from the file (compressed bytes for a gzip file).
    public var inputBytes: Int
    public var duration: Duration
    /// Resident memory the loaded data holds (after the load, parser buffers freed).
    public var heldBytes: Int
    /// The most resident memory the load took above where it started (the new data included).
    public var loadPeakBytes: Int

    /// What a server holding this data keeps resident: its own idle footprint plus the data.
    public var servingBytes: Int { Self.serverIdleBytes + heldBytes }
    /// The peak during a reload: the old data keeps serving while the new one is built beside it.
    public var reloadPeakBytes: Int { servingBytes + loadPeakBytes }

    /// keyport's resident memory when idle with the bundled sample loaded (release build, 2 event loops:
    /// VmRSS 29,496 kB measured): the part of a pod's memory that does not depend on the data.
    public static let serverIdleBytes = 29 << 20

    /// Parses `path` as the server would, calling `progress` about every MiB parsed. Blocking.
    public static func run(
        path: String, progress: (@Sendable (PortsLoadProgress, Duration) -> Void)? = nil
    ) throws(PortsLoadError) -> PortsValidation {
        keyport_malloc_trim(0)
        let peakReset = resetPeakResident()
        let before = ProcessSample.read()?.residentBytes ?? 0
        var sampledPeak = before
        let start = ContinuousClock.now
        let snapshot = try PortsFileLoader.load(path: path) { (current: PortsLoadProgress) throws(PortsLoadError) in
            sampledPeak = max(sampledPeak, ProcessSample.read()?.residentBytes ?? 0)
            progress?(current, start.duration(to: .now))
        }
        let duration = start.duration(to: .now)
        let loaded = ProcessSample.read()?.residentBytes ?? before
        keyport_malloc_trim(0)
        let held = withExtendedLifetime(snapshot) { ProcessSample.read()?.residentBytes ?? before }
        // VmHWM is only brought up to date now and then (on unmaps), so the samples and the loaded state count too.
        let peak = max(sampledPeak, loaded, held, peakReset ? (peakResident() ?? 0) : 0)
        return PortsValidation(
            statistics: snapshot.statistics, inputBytes: FileIdentity.of(path).map { Int($0.size) } ?? snapshot.statistics.bytesRead,
            duration: duration, heldBytes: max(0, held - before), loadPeakBytes: max(0, peak - before))
    }

    /// The file's size in bytes, for progress; `nil` when it cannot be stat'ed.
    public static func fileSize(_ path: String) -> Int? { FileIdentity.of(path).map { Int($0.size) } }

    /// Resets VmHWM (writing 5 to clear_refs, Linux 4.0+); false where that is not allowed.
    private static func resetPeakResident() -> Bool {
        let fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return write(fd, "5", 1) == 1
    }

    /// VmHWM from /proc/self/status, in bytes.
    private static func peakResident() -> Int? {
        guard let status = SmallFile.read("/proc/self/status") else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let number = line.dropFirst(6).split(separator: " ").first.flatMap { Int($0) }
            return number.map { $0 * 1024 }
        }
        return nil
    }
}
