import Foundation
@testable import KeyportCore
import NIOHTTP1
import Testing

@Suite struct MetricsTests {
    @Test func methodLabelsAreBoundedAndEachHasItsOwnSlot() {
        let known: [HTTPMethod] = [.GET, .HEAD, .POST, .PUT, .DELETE, .PATCH, .OPTIONS, .TRACE, .CONNECT]
        #expect(known.map(KeyportMetrics.methodLabel) == known.map(\.rawValue))
        #expect(Set(known.map(KeyportMetrics.methodSlot)) == Set(1...9))
        for other: HTTPMethod in [.PROPFIND, .RAW(value: "BREW"), .PURGE] {
            #expect(KeyportMetrics.methodLabel(other) == "OTHER")
            #expect(KeyportMetrics.methodSlot(other) == 0)
        }
    }

    @Test(arguments: [1, 20, 1000, 1024, 1_048_576])
    func keyLengthBucketsFollowTheConfiguredMaximum(maxSize: Int) throws {
        let metrics = KeyportMetrics(maxKeySize: maxSize)
        let text = try MetricsText(String(decoding: metrics.exposition(), as: UTF8.self))
        let bounds = text.samples.filter { $0.name == "keyport_key_length_bytes_bucket" }.compactMap { $0.labels["le"] }
        #expect(bounds.count == 21)
        #expect(bounds.last == "+Inf")
        let numbers = bounds.dropLast().map { Double($0)! }
        let expected = (1...20).map { Double(maxSize) / 20 * Double($0) }
        for (bound, want) in zip(numbers, expected) {
            #expect(abs(bound - want) <= want * 1e-12)
        }
        #expect(numbers.last == Double(maxSize))
    }

    @Test func keyLengthsLandInTheRightBuckets() throws {
        let metrics = KeyportMetrics(maxKeySize: 100)
        for length in [1, 5, 6, 50, 100] { metrics.recordKeyLength(length) }
        let text = try MetricsText(String(decoding: metrics.exposition(), as: UTF8.self))
        #expect(text.value("keyport_key_length_bytes_bucket", ["le": "5.0"]) == 2)
        #expect(text.value("keyport_key_length_bytes_bucket", ["le": "10.0"]) == 3)
        #expect(text.value("keyport_key_length_bytes_bucket", ["le": "50.0"]) == 4)
        #expect(text.value("keyport_key_length_bytes_bucket", ["le": "+Inf"]) == 5)
        #expect(text.value("keyport_key_length_bytes_sum") == 162)
        #expect(text.value("keyport_key_length_bytes_count") == 5)
    }

    @Test func requestsAreCountedByTemplateMethodAndCode() throws {
        let metrics = KeyportMetrics(maxKeySize: 1024)
        metrics.requestHandles(method: .GET, route: "/key/{length}", status: .ok).record(duration: .milliseconds(2))
        metrics.requestHandles(method: .GET, route: "/key/{length}", status: .ok).record(duration: .milliseconds(30))
        metrics.requestHandles(method: .GET, route: "/key/{length}", status: .badRequest).record(duration: .microseconds(100))
        metrics.requestHandles(method: .RAW(value: "BREW"), route: "unmatched", status: .notFound).record(duration: .zero)
        let text = try MetricsText(String(decoding: metrics.exposition(), as: UTF8.self))
        #expect(text.value("http_requests_total", ["method": "GET", "route": "/key/{length}", "code": "200"]) == 2)
        #expect(text.value("http_requests_total", ["method": "GET", "route": "/key/{length}", "code": "400"]) == 1)
        #expect(text.value("http_requests_total", ["method": "OTHER", "route": "unmatched", "code": "404"]) == 1)
        #expect(text.value("http_request_duration_seconds_count", ["method": "GET", "route": "/key/{length}"]) == 3)
        #expect(text.value("http_request_duration_seconds_bucket", ["method": "GET", "route": "/key/{length}", "le": "0.005"]) == 2)
        #expect(text.value("http_request_duration_seconds_bucket", ["method": "GET", "route": "/key/{length}", "le": "0.05"]) == 3)
    }

    @Test func everyMetricHasHelpAndType() throws {
        let metrics = KeyportMetrics(maxKeySize: 1024)
        metrics.requestHandles(method: .GET, route: "/health", status: .ok).record(duration: .zero)
        let text = try MetricsText(String(decoding: metrics.exposition(), as: UTF8.self))
        let families = Set(text.samples.map { text.family(of: $0) })
        for family in families {
            #expect(text.help[family]?.isEmpty == false, "no HELP for \(family)")
            #expect(text.type[family] != nil, "no TYPE for \(family)")
        }
        let expected = [
            "http_requests_total": "counter", "http_request_duration_seconds": "histogram",
            "keyport_key_length_bytes": "histogram", "keyport_ports": "gauge", "keyport_ports_loads_total": "counter",
            "keyport_ports_load_duration_seconds": "gauge", "keyport_ports_last_success_timestamp_seconds": "gauge",
            "keyport_ready": "gauge", "keyport_build_info": "gauge", "process_resident_memory_bytes": "gauge",
            "process_virtual_memory_bytes": "gauge", "process_cpu_seconds_total": "counter", "process_open_fds": "gauge",
            "process_max_fds": "gauge", "process_start_time_seconds": "gauge",
        ]
        for (name, type) in expected {
            #expect(text.type[name] == type, "\(name) should be a \(type)")
        }
    }

    @Test func processMetricsAreReadFromProc() throws {
        let metrics = KeyportMetrics(maxKeySize: 1024)
        let text = try MetricsText(String(decoding: metrics.exposition(), as: UTF8.self))
        let resident = try #require(text.value("process_resident_memory_bytes"))
        #expect(resident > 1_000_000)
        #expect(try #require(text.value("process_virtual_memory_bytes")) >= resident)
        #expect(try #require(text.value("process_open_fds")) >= 3)
        #expect(try #require(text.value("process_max_fds")) >= 64)
        let start = try #require(text.value("process_start_time_seconds"))
        let now = Date().timeIntervalSince1970
        #expect(start > now - 24 * 3600 && start <= now + 1)
        #expect(try #require(text.value("process_cpu_seconds_total")) >= 0)
        // CPU time is a counter: burn some and it goes up.
        var sink = 0
        for index in 0..<30_000_000 { sink &+= index &* index }
        #expect(sink != 1)
        let later = try MetricsText(String(decoding: metrics.exposition(), as: UTF8.self))
        #expect(try #require(later.value("process_cpu_seconds_total")) > text.value("process_cpu_seconds_total")!)
    }

    @Test func buildInfoCarriesVersionAndRevision() throws {
        let metrics = KeyportMetrics(maxKeySize: 1024, buildInfo: BuildInfo(version: "9.9.9", revision: "abc123"))
        let text = try MetricsText(String(decoding: metrics.exposition(), as: UTF8.self))
        #expect(text.value("keyport_build_info", ["version": "9.9.9", "revision": "abc123"]) == 1)
    }

    @Test func cgroupV2LimitIsRead() throws {
        let root = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let proc = root.appendingPathComponent("cgroup")
        try "0::/kubepods/pod1/c1\n".write(to: proc, atomically: true, encoding: .utf8)
        let group = root.appendingPathComponent("fs/kubepods/pod1/c1")
        try FileManager.default.createDirectory(at: group, withIntermediateDirectories: true)
        try "268435456\n".write(to: group.appendingPathComponent("memory.max"), atomically: true, encoding: .utf8)
        try "max\n".write(to: group.deletingLastPathComponent().appendingPathComponent("memory.max"), atomically: true, encoding: .utf8)
        #expect(CgroupMemoryLimit.read(procSelfCgroup: proc.path, cgroupRoot: root.path + "/fs") == 268_435_456)
        // A smaller limit on a parent group is the one that bites.
        try "134217728\n".write(to: group.deletingLastPathComponent().appendingPathComponent("memory.max"), atomically: true, encoding: .utf8)
        #expect(CgroupMemoryLimit.read(procSelfCgroup: proc.path, cgroupRoot: root.path + "/fs") == 134_217_728)
    }

    @Test func cgroupV2UnlimitedIsAbsent() throws {
        let root = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        try "0::/\n".write(to: root.appendingPathComponent("cgroup"), atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(at: root.appendingPathComponent("fs"), withIntermediateDirectories: true)
        try "max\n".write(to: root.appendingPathComponent("fs/memory.max"), atomically: true, encoding: .utf8)
        #expect(CgroupMemoryLimit.read(procSelfCgroup: root.appendingPathComponent("cgroup").path, cgroupRoot: root.path + "/fs") == nil)
    }

    @Test func cgroupV1LimitIsReadAndItsHugeDefaultIsUnlimited() throws {
        let root = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let proc = root.appendingPathComponent("cgroup")
        try "12:cpu,cpuacct:/x\n4:memory:/docker/abc\n0::/\n".write(to: proc, atomically: true, encoding: .utf8)
        let group = root.appendingPathComponent("fs/memory/docker/abc")
        try FileManager.default.createDirectory(at: group, withIntermediateDirectories: true)
        try "9223372036854771712\n".write(to: root.appendingPathComponent("fs/memory/memory.limit_in_bytes"), atomically: true, encoding: .utf8)
        #expect(CgroupMemoryLimit.read(procSelfCgroup: proc.path, cgroupRoot: root.path + "/fs") == nil)
        try "536870912\n".write(to: group.appendingPathComponent("memory.limit_in_bytes"), atomically: true, encoding: .utf8)
        #expect(CgroupMemoryLimit.read(procSelfCgroup: proc.path, cgroupRoot: root.path + "/fs") == 536_870_912)
    }
}
