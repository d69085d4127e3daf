import ArgumentParser
import KeyportCore
import KeyportPorts
import NIOPosix

/// `keyport ports validate FILE`: the server's parser without serving; for CI and before a rollout.
struct PortsValidate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Parse a ports file as the server would: exit 0 with what it holds and the memory it needs, 1 with the first error.")

    @Argument(help: "The ports file (JSON, or gzip-compressed JSON).")
    var file: String

    func run() async throws {
        let path = file
        let progress = ProgressLine(prefix: "keyport ports validate: \(path): ", totalInputBytes: PortsValidation.fileSize(path))
        // Blocking file I/O and parsing: on a thread of its own, not the cooperative pool.
        let pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        let result = try await pool.runIfActive { () -> Result<PortsValidation, PortsLoadError> in
            do throws(PortsLoadError) {
                return .success(try PortsValidation.run(path: path, progress: progress.show))
            } catch {
                return .failure(error)
            }
        }
        try await pool.shutdownGracefully()
        progress.finish()
        switch result {
        case .success(let report):
            let stats = report.statistics
            let seconds = report.duration.seconds
            print("\(path): valid")
            print("  records kept:        \(stats.records)")
            print("  duplicates replaced: \(stats.duplicatesReplaced)")
            print("  bytes:               \(report.inputBytes)" + (report.inputBytes != stats.bytesRead ? " (\(stats.bytesRead) uncompressed)" : ""))
            print("  parse:               \(formatSeconds(seconds)) at \(PortsLoadProgressText.rate(stats.bytesRead, seconds: seconds))")
            print("  data held:           \(mebibytes(report.heldBytes)) resident once loaded; a load peaks \(mebibytes(report.loadPeakBytes)) above its start")
            print("  memory to serve:     about \(mebibytes(report.servingBytes)) (keyport idle \(mebibytes(PortsValidation.serverIdleBytes)) + data)")
            print("  memory to reload:    about \(mebibytes(report.reloadPeakBytes)) (old data serves while the new is built): set the limit above this")
        case .failure(let error):
            let record = error.recordID.map { id in error.message.contains("\"\(id)\"") ? "" : " (record \"\(id)\")" } ?? ""
            FileOutput.standardError("keyport ports validate: \(error)\(record)\n")
            throw ExitCode(1)
        }
    }

    private func formatSeconds(_ seconds: Double) -> String { "\(Double(Int(seconds * 100)) / 100)s" }
    private func mebibytes(_ bytes: Int) -> String { "\((bytes + (1 << 19)) >> 20) MiB" }
}
