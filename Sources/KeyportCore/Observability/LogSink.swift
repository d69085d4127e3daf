#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

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
                let written = systemWrite(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return
                }
                offset += written
            }
        }
    }
}

/// write(2) from this platform's C library, by module name because `LogSink.write` hides the global one.
private func systemWrite(_ fd: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
    Glibc.write(fd, bytes, count)
    #elseif canImport(Musl)
    Musl.write(fd, bytes, count)
    #endif
}
