import SystemLibC

/// Where log lines go. Each line is written with one write(2), so lines from several threads never interleave.
public struct LogSink: Sendable {
    private let writeLine: @Sendable ([UInt8]) -> Void

    public init(_ writeLine: @escaping @Sendable ([UInt8]) -> Void) {
        self.writeLine = writeLine
    }

    public func write(_ line: [UInt8]) { writeLine(line) }

    public static let standardError = LogSink { line in fileDescriptor(2, line) }
    public static let standardOutput = LogSink { line in fileDescriptor(1, line) }

    private static func fileDescriptor(_ fd: Int32, _ line: [UInt8]) {
        line.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = SystemLibC.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return
                }
                offset += written
            }
        }
    }
}
