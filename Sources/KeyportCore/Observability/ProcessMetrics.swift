import Prometheus
import Synchronization
import SystemLibC

/// The standard `process_*` family and `keyport_memory_limit_bytes`, sampled from /proc and the
/// cgroup files each time metrics are collected.
final class ProcessMetrics: Sendable {
    private let registry: PrometheusCollectorRegistry
    private let residentMemory: Gauge
    private let virtualMemory: Gauge
    private let cpuSeconds: Counter
    private let openFDs: Gauge
    private let maxFDs: Gauge
    private let startTime: Gauge

    private struct State {
        var reportedCPUSeconds: Double = 0
        var memoryLimit: Gauge?
    }
    private let state = Mutex(State())

    init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
        residentMemory = registry.makeGauge(
            descriptor: KeyportMetrics.descriptor("process_resident_memory_bytes", "Resident memory size in bytes."))
        virtualMemory = registry.makeGauge(
            descriptor: KeyportMetrics.descriptor("process_virtual_memory_bytes", "Virtual memory size in bytes."))
        cpuSeconds = registry.makeCounter(
            descriptor: KeyportMetrics.descriptor("process_cpu_seconds_total", "Total user and system CPU time spent in seconds."))
        openFDs = registry.makeGauge(
            descriptor: KeyportMetrics.descriptor("process_open_fds", "Number of open file descriptors."))
        maxFDs = registry.makeGauge(
            descriptor: KeyportMetrics.descriptor("process_max_fds", "Maximum number of open file descriptors."))
        startTime = registry.makeGauge(
            descriptor: KeyportMetrics.descriptor("process_start_time_seconds", "Start time of the process since unix epoch in seconds."))
        update()
    }

    func update() {
        let sample = ProcessSample.read()
        if let sample {
            residentMemory.set(to: Double(sample.residentBytes))
            virtualMemory.set(to: Double(sample.virtualBytes))
            startTime.set(to: sample.startTimeSeconds)
        }
        openFDs.set(to: Double(ProcessSample.openFileDescriptors()))
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 {
            maxFDs.set(to: Double(limit.rlim_cur))
        }
        let memoryLimit = CgroupMemoryLimit.read()
        state.withLock { state in
            if let sample, sample.cpuSeconds > state.reportedCPUSeconds {
                cpuSeconds.increment(by: sample.cpuSeconds - state.reportedCPUSeconds)
                state.reportedCPUSeconds = sample.cpuSeconds
            }
            switch (memoryLimit, state.memoryLimit) {
            case (let bytes?, let gauge?):
                gauge.set(to: Double(bytes))
            case (let bytes?, nil):
                let gauge = registry.makeGauge(
                    descriptor: KeyportMetrics.descriptor(
                        "keyport_memory_limit_bytes", "Memory limit of the process's cgroup in bytes; absent when unlimited."))
                gauge.set(to: Double(bytes))
                state.memoryLimit = gauge
            case (nil, let gauge?):
                registry.unregisterGauge(gauge)
                state.memoryLimit = nil
            case (nil, nil):
                break
            }
        }
    }
}

/// One reading of /proc/self/stat.
struct ProcessSample {
    var residentBytes: Int
    var virtualBytes: Int
    var cpuSeconds: Double
    var startTimeSeconds: Double

    static func read() -> ProcessSample? {
        guard let stat = SmallFile.read("/proc/self/stat"),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        // Fields after the parenthesised command name, starting with field 3 (state).
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        func field(_ number: Int) -> Double? { fields.count > number - 3 ? Double(fields[number - 3]) : nil }
        guard let utime = field(14), let stime = field(15), let start = field(22),
            let vsize = field(23), let rss = field(24)
        else { return nil }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let pageSize = Double(sysconf(Int32(_SC_PAGESIZE)))
        return ProcessSample(
            residentBytes: Int(rss * pageSize),
            virtualBytes: Int(vsize),
            cpuSeconds: (utime + stime) / ticks,
            startTimeSeconds: bootTime() + start / ticks)
    }

    private static func bootTime() -> Double {
        guard let stat = SmallFile.read("/proc/stat") else { return 0 }
        for line in stat.split(separator: "\n") where line.hasPrefix("btime ") {
            return Double(line.dropFirst(6)) ?? 0
        }
        return 0
    }

    static func openFileDescriptors() -> Int {
        guard let directory = opendir("/proc/self/fd") else { return 0 }
        defer { closedir(directory) }
        var count = 0
        while let entry = readdir(directory) {
            let isDot = withUnsafeBytes(of: entry.pointee.d_name) { $0.first == UInt8(ascii: ".") }
            if !isDot { count += 1 }
        }
        // The directory stream itself holds one descriptor while counting.
        return max(count - 1, 0)
    }
}
