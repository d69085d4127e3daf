// ports-bench: loads a ports file with keyport's streaming parser into a PortsSnapshot, the same work the
// server does at start-up and on every reload. Compiled together with Sources/KeyportPorts by run.sh.
import SystemLibC

@main
struct PortsBench {
    static func main() {
        let arguments = CommandLine.arguments
        guard arguments.count >= 2 else {
            print("usage: ports-bench FILE [CHUNK_BYTES]")
            exit(2)
        }
        let chunk = arguments.count > 2 ? Int(arguments[2]) ?? 65536 : 65536
        let start = now()
        do {
            let snapshot = try PortsFileLoader.load(path: arguments[1], options: PortsParseOptions(chunkSize: chunk))
            let elapsed = now() - start
            let stats = snapshot.statistics
            print("keyport: \(stats.records) records kept (\(stats.recordsParsed) parsed) in \(formatted(elapsed)) s, "
                + "snapshot \(snapshot.storageBytes / 1_048_576) MiB")
            // Touch the result so nothing is optimised away, and show the store answers.
            if snapshot.count > 0 {
                let first = snapshot.record(at: 0)
                precondition(snapshot.record(id: first.id) == first)
            }
        } catch {
            print("error: \(error)")
            exit(1)
        }
    }

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    static func formatted(_ seconds: Double) -> String {
        let millis = Int((seconds * 1000).rounded())
        let fraction = String(millis % 1000)
        return "\(millis / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
    }
}
