import Foundation
import Synchronization

/// The real `keyport` executable run as a child process, for signal handling and exit codes.
final class KeyportProcess: Sendable {
    let process: Process
    private let output = Collected()
    private let errorOutput = Collected()

    /// What one pipe delivered, and whether it reached end of file (the child closed it, e.g. by exiting).
    final class Collected: Sendable {
        let bytes = Mutex<[UInt8]>([])
        let ended = Mutex(false)

        /// Reads `handle` on a thread of its own with blocking reads until end of file. (Foundation's
        /// readabilityHandler on Linux does not always report end of file, which left tests waiting.)
        func drain(_ handle: FileHandle) {
            let descriptor = handle.fileDescriptor
            Thread { [self] in
                var buffer = [UInt8](repeating: 0, count: 65536)
                while true {
                    let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
                    if count > 0 {
                        bytes.withLock { $0.append(contentsOf: buffer[..<count]) }
                    } else if count < 0 && errno == EINTR {
                        continue
                    } else {
                        break
                    }
                }
                ended.withLock { $0 = true }
            }.start()
        }
    }

    init(_ arguments: [String], environment: [String: String] = [:]) throws {
        process = Process()
        process.executableURL = URL(fileURLWithPath: TestPaths.keyportBinary)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("KEYPORT_") }
            .merging(environment) { _, new in new }
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        output.drain(stdout.fileHandleForReading)
        errorOutput.drain(stderr.fileHandleForReading)
    }

    var standardOutput: String { output.bytes.withLock { String(decoding: $0, as: UTF8.self) } }
    var standardError: String { errorOutput.bytes.withLock { String(decoding: $0, as: UTF8.self) } }

    /// The JSON log lines written so far.
    var logLines: [[String: Any]] {
        standardOutput.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    /// Waits for the "listening" log line of `listener` and returns the bound port.
    func listeningPort(of listener: String = "service", timeout: Duration = .seconds(20)) async throws -> Int {
        var port: Int?
        try await waitUntil(timeout: timeout) {
            port = logLines.first { $0["message"] as? String == "listening" && $0["listener"] as? String == listener }
                .flatMap { ($0["port"] as? String).flatMap(Int.init) }
            return port != nil || !process.isRunning
        }
        guard let port else { throw WaitTimeout() }
        return port
    }

    func signal(_ number: Int32) { kill(process.processIdentifier, number) }

    /// Waits for the process to end and for both pipes to be drained (the reader threads may still be
    /// collecting its last output when it exits), then returns its exit status.
    func exitStatus(timeout: Duration = .seconds(30)) async throws -> Int32 {
        try await waitUntil(timeout: timeout) { !process.isRunning }
        // End of file comes only once every copy of the write ends is closed (one was seen to stay open
        // for 30 s while other tests spawned children), so wait for it a bounded while.
        try? await waitUntil(timeout: .seconds(3)) { output.ended.withLock { $0 } && errorOutput.ended.withLock { $0 } }
        return process.terminationStatus
    }

    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    deinit { stop() }
}
